// A service-shaped schema for the platform's integration tests: a business table next to the
// re-exported outbox and inbox, migrated by drizzle-kit like any service's.
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';

export { inbox } from '../inbox/index.ts';
export { outbox } from '../outbox/index.ts';

export const counters = pgTable('counters', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  value: integer('value').notNull().default(0),
});

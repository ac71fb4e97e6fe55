// Tables of the two foundation test apps. Both apps use the same migrations (each in its own
// database); like every service, they re-export the platform's outbox and inbox tables so the
// migrations create them.
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export { inbox } from '@reservex/platform/inbox';
export { outbox } from '@reservex/platform/outbox';

/** The producer's business change: tickets voided for a reservation. */
export const voids = pgTable('voids', {
  id: uuid('id').primaryKey().defaultRandom(),
  reservationId: uuid('reservation_id').notNull(),
  ticketCount: integer('ticket_count').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The consumer's effect of handling one ticket.voided event. */
export const effects = pgTable('effects', {
  id: uuid('id').primaryKey().defaultRandom(),
  eventId: text('event_id').notNull(),
  reservationId: uuid('reservation_id').notNull(),
  ticketCount: integer('ticket_count').notNull(),
  handledAt: timestamp('handled_at', { withTimezone: true }).notNull().defaultNow(),
});

import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Events waiting to be published, written in the same transaction as the change they announce.
 * Each service re-exports this table from its drizzle schema so its migrations create it.
 */
export const outbox = pgTable(
  'outbox',
  {
    /** Also the CloudEvent id, so a consumer's inbox recognises a re-publication. */
    id: uuid('id').primaryKey().defaultRandom(),
    topic: text('topic').notNull(),
    /** Kafka partition key: events with the same key (a reservation id) stay in order. */
    partitionKey: text('partition_key').notNull(),
    payload: jsonb('payload').notNull(),
    /** W3C trace context of the span that wrote the row; the publish continues this trace. */
    traceparent: text('traceparent'),
    tracestate: text('tracestate'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** Earliest time of the next publish attempt (back-off after a failure). */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    index('outbox_pending_idx').on(table.nextAttemptAt, table.createdAt).where(sql`${table.sentAt} is null`),
    index('outbox_sent_at_idx').on(table.sentAt).where(sql`${table.sentAt} is not null`),
  ],
);

export type OutboxRow = typeof outbox.$inferSelect;

/** The NOTIFY channel a committed outbox write wakes the relay on. */
export const OUTBOX_CHANNEL = 'reservex_outbox';

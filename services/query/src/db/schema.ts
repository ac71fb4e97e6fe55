// The query service's tables: every saga event seen (the timeline, the facts), the ReservationDetails
// derived from them (the read model), and the dead letters of the whole platform.
import { inbox, refusals } from '@reservex/platform/inbox';
import { outbox } from '@reservex/platform/outbox';
import { desc } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { ReservationDetails } from '../domain/projection.ts';

export { inbox, outbox, refusals };

/** Each saga event as delivered: the projection's input, kept so the details can always be re-derived. */
export const timelineEvents = pgTable(
  'timeline_events',
  {
    eventId: text('event_id').primaryKey(),
    reservationId: uuid('reservation_id').notNull(),
    topic: text('topic').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
    data: jsonb('data').notNull(),
    traceparent: text('traceparent'),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('timeline_events_reservation_idx').on(table.reservationId)],
);

/** The read model: one row per reservation, the projection of its timeline. */
export const reservationDetails = pgTable(
  'reservation_details',
  {
    reservationId: uuid('reservation_id').primaryKey(),
    /** Null until an event naming the buyer arrived; such a row is visible to nobody. */
    userId: text('user_id'),
    status: text('status', { enum: ['PENDING', 'CONFIRMED', 'CANCELLED'] }).notNull(),
    /** Creation instant (or the earliest event seen before it): the order of "my reservations". */
    sortAt: timestamp('sort_at', { withTimezone: true, mode: 'string' }).notNull(),
    details: jsonb('details').$type<ReservationDetails>().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    index('reservation_details_user_idx').on(table.userId, desc(table.sortAt), desc(table.reservationId)),
  ],
);

/** Events a consumer gave up on (the platform's dead-letter topic), for listing and replay. */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    cloudEventId: text('cloud_event_id').notNull().unique(),
    /** The topic it was published to (its CloudEvent type); null when the event does not say. */
    originalTopic: text('original_topic'),
    source: text('source'),
    reservationId: text('reservation_id'),
    data: jsonb('data'),
    cloudEvent: jsonb('cloud_event').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    replayCount: integer('replay_count').notNull().default(0),
    lastReplayedAt: timestamp('last_replayed_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [index('dead_letters_received_idx').on(desc(table.receivedAt), desc(table.id))],
);

export const schema = { timelineEvents, reservationDetails, deadLetters, inbox, outbox, refusals };
export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** NOTIFY channel: payload = reservation id whose details changed (live status over SSE). */
export const DETAILS_CHANNEL = 'reservex_reservation_details';

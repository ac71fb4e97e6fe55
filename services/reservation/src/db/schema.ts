// Reservation's own tables: a reservation and its append-only history of transitions, plus the
// platform's outbox and inbox (re-exported so drizzle-kit puts them in this service's migrations).
import { CancelReason, SagaStep } from '@reservex/contracts';
import { sql } from 'drizzle-orm';
import {
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { reservationStatuses } from '../domain/saga.ts';

export { inbox, refusals } from '@reservex/platform/inbox';
export { outbox } from '@reservex/platform/outbox';

const oneOf = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));
const cancelReasons = CancelReason.options as [CancelReason, ...CancelReason[]];
const sagaSteps = SagaStep.options as [SagaStep, ...SagaStep[]];

export const reservations = pgTable(
  'reservations',
  {
    id: uuid('id').primaryKey(),
    /** The account service's user id, as the gateway passed it in `x-user-id`. */
    userId: text('user_id').notNull(),
    showId: uuid('show_id').notNull(),
    ticketTypeId: uuid('ticket_type_id').notNull(),
    quantity: integer('quantity').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Past this instant an unconfirmed reservation is cancelled as EXPIRED. */
    holdExpiresAt: timestamp('hold_expires_at', { withTimezone: true }).notNull(),
    /** W3C trace context of the request that placed it: the saga's trace, which expiry continues. */
    traceparent: text('traceparent'),
    /**
     * Set in the transaction that appends the final transition. The status itself is always read
     * from the transitions; this column only lets the sweeper and the one-open-reservation rule use
     * an index instead of scanning every reservation ever made.
     */
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    check('reservations_quantity_positive', sql`${t.quantity} >= 1`),
    index('reservations_open_by_expiry_idx').on(t.holdExpiresAt).where(sql`${t.endedAt} is null`),
    // What a user holds of a ticket type: the per-user limit's count.
    index('reservations_by_user_ticket_type_idx').on(t.userId, t.ticketTypeId),
    // "One reservation in flight per user and show": a concurrent insert waits on it, then conflicts.
    uniqueIndex('reservations_one_open_per_user_show_idx')
      .on(t.userId, t.showId)
      .where(sql`${t.endedAt} is null`),
  ],
);

export const reservationTransitions = pgTable(
  'reservation_transitions',
  {
    reservationId: uuid('reservation_id')
      .notNull()
      .references(() => reservations.id),
    /** 1 for PENDING, then consecutive: a concurrent writer of the same seq fails on the key. */
    seq: integer('seq').notNull(),
    status: text('status', { enum: reservationStatuses }).notNull(),
    reason: text('reason', { enum: cancelReasons }),
    failedStep: text('failed_step', { enum: sagaSteps }),
    detail: text('detail'),
    /** What moved the saga: the topic of an event, or `request`, `user`, `expiry`, `dead-letter`. */
    cause: text('cause').notNull(),
    /** The CloudEvent id of the event that caused it, if one did. */
    eventId: text('event_id'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'reservation_transitions_pkey', columns: [t.reservationId, t.seq] }),
    check('reservation_transitions_status_known', sql`${t.status} IN (${oneOf(reservationStatuses)})`),
    check(
      'reservation_transitions_cancel_has_reason',
      sql`(${t.status} = 'CANCELLED') = (${t.reason} IS NOT NULL AND ${t.failedStep} IS NOT NULL)`,
    ),
  ],
);

/**
 * Waiting-room passes that bought a reservation: a pass is single-use, and it is spent in the
 * transaction that writes the reservation it bought, so a crash spends it only together with the
 * reservation and a retry of a request that was never written finds it unspent.
 */
export const spentPasses = pgTable('spent_passes', {
  /** The pass's `jti`. */
  jti: text('jti').primaryKey(),
  reservationId: uuid('reservation_id')
    .notNull()
    .references(() => reservations.id),
  spentAt: timestamp('spent_at', { withTimezone: true }).notNull(),
});

export type ReservationRow = typeof reservations.$inferSelect;
export type TransitionRow = typeof reservationTransitions.$inferSelect;

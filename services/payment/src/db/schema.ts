// The payment service's tables: one payment per reservation (at most one capture), at most one refund
// per payment, and the tombstones of cancelled reservations (never charged afterwards). A payment is
// first recorded as an intent (`pending`, with the card token the provider is asked to charge) and
// then as the provider's answer; the token is dropped once the answer is recorded.
import { inbox, refusals } from '@reservex/platform/inbox';
import { outbox } from '@reservex/platform/outbox';
import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export { inbox, outbox, refusals };

export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Unique: the charge's idempotency key, so a reservation can never be captured twice. */
    reservationId: uuid('reservation_id').notNull().unique(),
    userId: text('user_id').notNull(),
    showId: uuid('show_id').notNull(),
    ticketTypeId: uuid('ticket_type_id').notNull(),
    quantity: integer('quantity').notNull(),
    amountMinor: integer('amount_minor').notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: ['pending', 'captured', 'failed', 'refunded'] }).notNull(),
    failureReason: text('failure_reason', { enum: ['DECLINED', 'INSUFFICIENT_FUNDS', 'PROCESSOR_ERROR'] }),
    provider: text('provider').notNull(),
    providerChargeId: text('provider_charge_id'),
    /** The tokenised card of a pending intent (never a card number); null once the answer is recorded. */
    paymentToken: text('payment_token'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    index('payments_user_idx').on(table.userId),
    check('payments_amount_nonnegative', sql`${table.amountMinor} >= 0`),
    check(
      'payments_state_has_its_fields',
      sql`(${table.status} in ('captured', 'refunded')) = (${table.providerChargeId} is not null) and (${table.status} = 'failed') = (${table.failureReason} is not null) and (${table.status} = 'pending') = (${table.paymentToken} is not null)`,
    ),
    index('payments_pending_idx').on(table.updatedAt).where(sql`${table.status} = 'pending'`),
  ],
);

export const refunds = pgTable('refunds', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Unique: at most one refund of a payment. */
  paymentId: uuid('payment_id')
    .notNull()
    .unique()
    .references(() => payments.id),
  reservationId: uuid('reservation_id').notNull().unique(),
  amountMinor: integer('amount_minor').notNull(),
  currency: text('currency').notNull(),
  providerRefundId: text('provider_refund_id').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** A reservation.cancelled seen: from then on the reservation is never charged. */
export const cancellations = pgTable('cancellations', {
  reservationId: uuid('reservation_id').primaryKey(),
  reason: text('reason').notNull(),
  cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }).notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const schema = { payments, refunds, cancellations, inbox, outbox, refusals };
export type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;

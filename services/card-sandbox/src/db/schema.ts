// The sandbox's ledger: every charge it answered (captured or declined) and every refund, each under
// the caller's idempotency key, plus the failed attempts of the flaky test card. A restart of the
// sandbox or of its caller loses none of it, so "never charged twice" can be read back from here.
import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const charges = pgTable(
  'charges',
  {
    id: text('id').primaryKey(),
    /** Unique: a key answers with its first charge for ever. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    /** Hash of the request's parameters: the same key with other parameters is refused. */
    fingerprint: text('fingerprint').notNull(),
    /** The caller's own reference (payment passes the reservation id), for reading the ledger back. */
    reference: text('reference'),
    amountMinor: integer('amount_minor').notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: ['captured', 'declined'] }).notNull(),
    declineReason: text('decline_reason', { enum: ['DECLINED', 'INSUFFICIENT_FUNDS'] }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    check('charges_amount_nonnegative', sql`${table.amountMinor} >= 0`),
    check(
      'charges_decline_has_reason',
      sql`(${table.status} = 'declined') = (${table.declineReason} is not null)`,
    ),
  ],
);

export const refunds = pgTable('refunds', {
  id: text('id').primaryKey(),
  idempotencyKey: text('idempotency_key').notNull().unique(),
  fingerprint: text('fingerprint').notNull(),
  /** Unique: a charge is refunded at most once (the sandbox only knows full or partial single refunds). */
  chargeId: text('charge_id')
    .notNull()
    .unique()
    .references(() => charges.id),
  amountMinor: integer('amount_minor').notNull(),
  currency: text('currency').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** Failed attempts per idempotency key of the `tok_processor_flaky` card. */
export const attempts = pgTable('attempts', {
  idempotencyKey: text('idempotency_key').primaryKey(),
  failures: integer('failures').notNull(),
});

export const schema = { charges, refunds, attempts };
export type ChargeRow = typeof charges.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;

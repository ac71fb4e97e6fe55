// Inventory's own tables. The stock counters live on the ticket type row; Postgres itself refuses
// any write that would break `capacity = available + held + sold` or make a counter negative. The
// platform's outbox and inbox are re-exported so drizzle-kit puts them in this service's migrations.
import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { holdStatuses } from '../domain/hold.ts';

export { inbox, refusals } from '@reservex/platform/inbox';
export { outbox } from '@reservex/platform/outbox';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const shows = pgTable('shows', {
  id: uuid('id').primaryKey().defaultRandom(),
  title: text('title').notNull(),
  venue: text('venue').notNull(),
  startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const ticketTypes = pgTable(
  'ticket_types',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    showId: uuid('show_id')
      .notNull()
      .references(() => shows.id),
    name: text('name').notNull(),
    priceMinor: integer('price_minor').notNull(),
    currency: text('currency').notNull(),
    capacity: integer('capacity').notNull(),
    available: integer('available').notNull(),
    held: integer('held').notNull().default(0),
    sold: integer('sold').notNull().default(0),
    saleStartsAt: timestamp('sale_starts_at', { withTimezone: true }).notNull(),
    saleEndsAt: timestamp('sale_ends_at', { withTimezone: true }),
    perOrderLimit: integer('per_order_limit').notNull(),
    /** Tickets one user may hold across orders; null means the per-order limit. Checked by reservation. */
    perUserLimit: integer('per_user_limit'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('ticket_types_show_id_idx').on(t.showId),
    check('ticket_types_stock_invariant', sql`${t.capacity} = ${t.available} + ${t.held} + ${t.sold}`),
    check('ticket_types_stock_non_negative', sql`${t.available} >= 0 AND ${t.held} >= 0 AND ${t.sold} >= 0`),
    check('ticket_types_price_non_negative', sql`${t.priceMinor} >= 0`),
    check('ticket_types_per_order_limit_positive', sql`${t.perOrderLimit} >= 1`),
    check('ticket_types_sale_window', sql`${t.saleEndsAt} IS NULL OR ${t.saleEndsAt} > ${t.saleStartsAt}`),
    check('ticket_types_per_user_limit_positive', sql`${t.perUserLimit} IS NULL OR ${t.perUserLimit} >= 1`),
    check('ticket_types_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

/**
 * One row per reservation inventory has heard of, whatever it heard first. No foreign key to
 * ticket_types: a refused hold may name a type that does not exist, and a tombstone is written from
 * a cancellation alone.
 */
export const holds = pgTable(
  'holds',
  {
    reservationId: uuid('reservation_id').primaryKey(),
    showId: uuid('show_id').notNull(),
    ticketTypeId: uuid('ticket_type_id').notNull(),
    quantity: integer('quantity').notNull(),
    status: text('status', { enum: holdStatuses }).notNull(),
    /** Why a hold was refused (a StockFailureReason), for REJECTED only. */
    reason: text('reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('holds_ticket_type_id_status_idx').on(t.ticketTypeId, t.status),
    check('holds_quantity_positive', sql`${t.quantity} >= 1`),
    check(
      'holds_status_known',
      sql`${t.status} IN (${sql.raw(holdStatuses.map((s) => `'${s}'`).join(', '))})`,
    ),
  ],
);

export type ShowRow = typeof shows.$inferSelect;
export type TicketTypeRow = typeof ticketTypes.$inferSelect;
export type HoldRow = typeof holds.$inferSelect;

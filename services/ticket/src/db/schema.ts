// The ticket service's tables: tickets (one per seat), the issuing decision per reservation (made
// once), the tombstones of cancelled reservations, and the shows an operator locked for issuing.
import { inbox, refusals } from '@reservex/platform/inbox';
import { outbox } from '@reservex/platform/outbox';
import { index, integer, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

export { inbox, outbox, refusals };

export const tickets = pgTable(
  'tickets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    reservationId: uuid('reservation_id').notNull(),
    /** 1..quantity: one ticket per seat of the reservation. */
    seat: integer('seat').notNull(),
    userId: text('user_id').notNull(),
    showId: uuid('show_id').notNull(),
    ticketTypeId: uuid('ticket_type_id').notNull(),
    /** The door code: 160 random bits, base64url (see domain/ticket-code.ts for why it is kept as is). */
    code: text('code').notNull().unique(),
    status: text('status', { enum: ['valid', 'admitted', 'voided'] })
      .notNull()
      .default('valid'),
    issuedAt: timestamp('issued_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    admittedAt: timestamp('admitted_at', { withTimezone: true, mode: 'date' }),
    /** The door that admitted it, when the scanner named one. */
    admittedGate: text('admitted_gate'),
    voidedAt: timestamp('voided_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    unique('tickets_reservation_seat_key').on(table.reservationId, table.seat),
    index('tickets_show_idx').on(table.showId),
  ],
);

/** The issuing decision for a reservation: taken once, so a redelivered payment never issues twice. */
export const issuances = pgTable('issuances', {
  reservationId: uuid('reservation_id').primaryKey(),
  outcome: text('outcome', { enum: ['issued', 'failed'] }).notNull(),
  reason: text('reason'),
  decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** A reservation.cancelled seen: from then on no ticket is issued for it. */
export const cancellations = pgTable('cancellations', {
  reservationId: uuid('reservation_id').primaryKey(),
  reason: text('reason').notNull(),
  cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }).notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** Shows whose tickets must not be issued now (an operator's switch; also TICKET_ISSUING_LOCKED_SHOWS). */
export const issuingLocks = pgTable('issuing_locks', {
  showId: uuid('show_id').primaryKey(),
  lockedBy: text('locked_by').notNull(),
  lockedAt: timestamp('locked_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const schema = { tickets, issuances, cancellations, issuingLocks, inbox, outbox, refusals };
export type TicketRow = typeof tickets.$inferSelect;

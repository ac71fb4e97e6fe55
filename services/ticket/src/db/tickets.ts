// Queries of the ticket participant. Handlers of one reservation serialise on its advisory lock, so a
// cancel either finds the issued tickets (and voids them) or leaves the tombstone the issuer finds.
import { lockKeys, type TransactionOf } from '@reservex/platform/db';
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { IssuingRecord, TicketId } from '../domain/issuing.ts';
import { cancellations, issuances, issuingLocks, type schema, type TicketRow, tickets } from './schema.ts';

export type TicketDb = PostgresJsDatabase<typeof schema>;
export type TicketTx = TransactionOf<TicketDb>;

export async function lockReservation(tx: TicketTx, reservationId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`ticket:${reservationId}`}, 0))`);
}

/** The locks of several reservations, taken in a fixed order (see `lockKeys`). */
export async function lockReservations(tx: TicketTx, reservationIds: readonly string[]): Promise<void> {
  await lockKeys(
    tx,
    reservationIds.map((id) => `ticket:${id}`),
  );
}

export async function issuingRecord(tx: TicketTx, reservationId: string): Promise<IssuingRecord> {
  const [decision] = await tx.select().from(issuances).where(eq(issuances.reservationId, reservationId));
  const [tombstone] = await tx
    .select({ reservationId: cancellations.reservationId })
    .from(cancellations)
    .where(eq(cancellations.reservationId, reservationId));
  return { cancelled: tombstone !== undefined, issuance: decision?.outcome };
}

export async function isShowLocked(tx: TicketTx | TicketDb, showId: string): Promise<boolean> {
  const [lock] = await tx.select().from(issuingLocks).where(eq(issuingLocks.showId, showId));
  return lock !== undefined;
}

export async function recordIssuance(
  tx: TicketTx,
  decision: { reservationId: string; outcome: 'issued' | 'failed'; reason?: string },
): Promise<Date> {
  const [row] = await tx
    .insert(issuances)
    .values({
      reservationId: decision.reservationId,
      outcome: decision.outcome,
      reason: decision.reason ?? null,
    })
    .returning({ decidedAt: issuances.decidedAt });
  return row!.decidedAt;
}

export async function insertTickets(
  tx: TicketTx,
  rows: (typeof tickets.$inferInsert)[],
): Promise<TicketRow[]> {
  return tx.insert(tickets).values(rows).returning();
}

export async function recordCancellation(
  tx: TicketTx,
  cancellation: { reservationId: string; reason: string; cancelledAt: Date },
): Promise<void> {
  await tx.insert(cancellations).values(cancellation).onConflictDoNothing();
}

export async function ticketsOf(tx: TicketTx | TicketDb, reservationId: string): Promise<TicketRow[]> {
  return tx.select().from(tickets).where(eq(tickets.reservationId, reservationId)).orderBy(asc(tickets.seat));
}

export async function voidTickets(
  tx: TicketTx,
  reservationId: string,
  ids: readonly TicketId[],
): Promise<TicketRow[]> {
  if (ids.length === 0) return [];
  return tx
    .update(tickets)
    .set({ status: 'voided', voidedAt: new Date() })
    .where(
      and(
        eq(tickets.reservationId, reservationId),
        inArray(tickets.id, [...ids]),
        ne(tickets.status, 'voided'),
      ),
    )
    .returning();
}

export async function findTicket(db: TicketDb, ticketId: string): Promise<TicketRow | undefined> {
  const [row] = await db.select().from(tickets).where(eq(tickets.id, ticketId));
  return row;
}

/**
 * Admits the ticket with this code if, and only if, it is still valid: one conditional update, so of
 * two concurrent scans exactly one changes the row (the other waits on the row lock, then finds it
 * admitted and matches nothing).
 */
/**
 * Admits the valid ticket with this code for this show, in one conditional update: a ticket of
 * another show is not touched (it stays valid for its own door).
 */
export async function admitByCode(
  db: TicketDb,
  door: { code: string; showId: string; gate?: string | undefined },
): Promise<TicketRow | undefined> {
  const [admitted] = await db
    .update(tickets)
    .set({ status: 'admitted', admittedAt: new Date(), admittedGate: door.gate ?? null })
    .where(and(eq(tickets.code, door.code), eq(tickets.showId, door.showId), eq(tickets.status, 'valid')))
    .returning();
  return admitted;
}

export async function findByCode(db: TicketDb, code: string): Promise<TicketRow | undefined> {
  const [row] = await db.select().from(tickets).where(eq(tickets.code, code));
  return row;
}

export async function lockShowForIssuing(db: TicketDb, showId: string, lockedBy: string): Promise<void> {
  await db.insert(issuingLocks).values({ showId, lockedBy }).onConflictDoNothing();
}

export async function unlockShowForIssuing(db: TicketDb, showId: string): Promise<void> {
  await db.delete(issuingLocks).where(eq(issuingLocks.showId, showId));
}

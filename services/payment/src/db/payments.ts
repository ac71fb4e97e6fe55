// Queries of the payment participant. Every transaction that reads and then changes a reservation's
// payment first takes the reservation's advisory lock, so the charge and the cancel of one reservation
// never interleave: a cancel either finds the capture (and refunds it) or leaves the tombstone the
// charge then finds. The lock is only held by short transactions: the provider is called between them.
import { lockKeys, type TransactionOf } from '@reservex/platform/db';
import { and, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { PaymentId, PaymentRecord } from '../domain/payment.ts';
import { cancellations, type PaymentRow, payments, type RefundRow, refunds, type schema } from './schema.ts';

export type PaymentDb = PostgresJsDatabase<typeof schema>;
export type PaymentTx = TransactionOf<PaymentDb>;

/** Serialises every handler of one reservation until the transaction ends. */
export async function lockReservation(tx: PaymentTx, reservationId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`payment:${reservationId}`}, 0))`);
}

/** The locks of several reservations, taken in a fixed order (see `lockKeys`). */
export async function lockReservations(tx: PaymentTx, reservationIds: readonly string[]): Promise<void> {
  await lockKeys(
    tx,
    reservationIds.map((id) => `payment:${id}`),
  );
}

/** Which of these reservations were cancelled (their tombstones). */
export async function cancelledAmong(tx: PaymentTx, reservationIds: readonly string[]): Promise<string[]> {
  if (reservationIds.length === 0) return [];
  const rows = await tx
    .select({ reservationId: cancellations.reservationId })
    .from(cancellations)
    .where(inArray(cancellations.reservationId, [...reservationIds]));
  return rows.map((row) => row.reservationId);
}

export async function paymentRecord(
  tx: PaymentTx,
  reservationId: string,
): Promise<PaymentRecord & { row?: PaymentRow }> {
  const [row] = await tx.select().from(payments).where(eq(payments.reservationId, reservationId));
  const [tombstone] = await tx
    .select({ reservationId: cancellations.reservationId })
    .from(cancellations)
    .where(eq(cancellations.reservationId, reservationId));
  return {
    cancelled: tombstone !== undefined,
    payment: row ? { id: row.id as PaymentId, status: row.status } : undefined,
    ...(row ? { row } : {}),
  };
}

export async function recordCancellation(
  tx: PaymentTx,
  cancellation: { reservationId: string; reason: string; cancelledAt: Date },
): Promise<void> {
  await tx.insert(cancellations).values(cancellation).onConflictDoNothing();
}

export type Intent = PaymentRow & { status: 'pending'; paymentToken: string };

/** Records the intent to charge: the row a crash leaves behind, resolved later with the same key. */
export async function insertIntent(
  tx: PaymentTx,
  row: Omit<typeof payments.$inferInsert, 'status' | 'providerChargeId' | 'failureReason'> & {
    paymentToken: string;
  },
): Promise<Intent> {
  const [inserted] = await tx
    .insert(payments)
    .values({ ...row, status: 'pending' })
    .returning();
  return inserted as Intent;
}

export function isIntent(row: PaymentRow | undefined): row is Intent {
  return row?.status === 'pending' && row.paymentToken !== null;
}

/** The provider's answer to a pending intent; the card token is forgotten with it. */
export async function resolveIntent(
  tx: PaymentTx,
  id: string,
  answer:
    | { status: 'captured'; providerChargeId: string }
    | { status: 'failed'; failureReason: 'DECLINED' | 'INSUFFICIENT_FUNDS' | 'PROCESSOR_ERROR' },
): Promise<PaymentRow> {
  const [updated] = await tx
    .update(payments)
    .set({ ...answer, paymentToken: null, updatedAt: new Date() })
    .where(and(eq(payments.id, id), eq(payments.status, 'pending')))
    .returning();
  return updated!;
}

/** Intents left without an answer (a crash between the call and the record) for longer than `age`. */
export async function staleIntents(db: PaymentDb, olderThan: Date, limit: number): Promise<Intent[]> {
  const rows = await db
    .select()
    .from(payments)
    .where(and(eq(payments.status, 'pending'), lt(payments.updatedAt, olderThan)))
    .limit(limit);
  return rows.filter(isIntent);
}

/** Cancelled reservations whose capture was recorded but not refunded (a crash before the refund). */
export async function owedRefunds(db: PaymentDb, olderThan: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ reservationId: payments.reservationId })
    .from(payments)
    .innerJoin(cancellations, eq(cancellations.reservationId, payments.reservationId))
    .where(and(eq(payments.status, 'captured'), lt(payments.updatedAt, olderThan)))
    .limit(limit);
  return rows.map((row) => row.reservationId);
}

export async function insertRefund(tx: PaymentTx, row: typeof refunds.$inferInsert): Promise<RefundRow> {
  const [inserted] = await tx.insert(refunds).values(row).returning();
  await tx
    .update(payments)
    .set({ status: 'refunded', updatedAt: new Date() })
    .where(eq(payments.id, row.paymentId));
  return inserted!;
}

export type PaymentView = PaymentRow & {
  status: Exclude<PaymentRow['status'], 'pending'>;
  refund: RefundRow | null;
};

/** A payment once the provider's answer is recorded; an intent is not a payment yet. */
export async function findPayment(db: PaymentDb, reservationId: string): Promise<PaymentView | undefined> {
  const [found] = await db
    .select({ payment: payments, refund: refunds })
    .from(payments)
    .leftJoin(refunds, eq(refunds.paymentId, payments.id))
    .where(and(eq(payments.reservationId, reservationId), ne(payments.status, 'pending')));
  return found ? ({ ...found.payment, refund: found.refund } as PaymentView) : undefined;
}

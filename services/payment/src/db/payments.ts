// Queries of the payment participant. Every handler first takes the reservation's advisory lock, so
// the charge and the cancel of one reservation never interleave: a cancel either finds the capture
// (and refunds it) or leaves the tombstone the charge then finds.
import type { TransactionOf } from '@reservex/platform/db';
import { eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { PaymentId, PaymentRecord } from '../domain/payment.ts';
import { cancellations, type PaymentRow, payments, type RefundRow, refunds, type schema } from './schema.ts';

export type PaymentDb = PostgresJsDatabase<typeof schema>;
export type PaymentTx = TransactionOf<PaymentDb>;

/** Serialises every handler of one reservation until the transaction ends. */
export async function lockReservation(tx: PaymentTx, reservationId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`payment:${reservationId}`}, 0))`);
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

export async function insertPayment(tx: PaymentTx, row: typeof payments.$inferInsert): Promise<PaymentRow> {
  const [inserted] = await tx.insert(payments).values(row).returning();
  return inserted!;
}

export async function insertRefund(tx: PaymentTx, row: typeof refunds.$inferInsert): Promise<RefundRow> {
  const [inserted] = await tx.insert(refunds).values(row).returning();
  await tx
    .update(payments)
    .set({ status: 'refunded', updatedAt: new Date() })
    .where(eq(payments.id, row.paymentId));
  return inserted!;
}

export type PaymentView = PaymentRow & { refund: RefundRow | null };

export async function findPayment(db: PaymentDb, reservationId: string): Promise<PaymentView | undefined> {
  const [found] = await db
    .select({ payment: payments, refund: refunds })
    .from(payments)
    .leftJoin(refunds, eq(refunds.paymentId, payments.id))
    .where(eq(payments.reservationId, reservationId));
  return found ? { ...found.payment, refund: found.refund } : undefined;
}

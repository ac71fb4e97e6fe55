// What the payment participant does for each saga event, given what it already knows about the
// reservation. Events of one saga arrive on different topics, in any order and possibly twice.
import type { Brand } from './brand.ts';

export type PaymentId = Brand<string, 'PaymentId'>;
export type ReservationId = Brand<string, 'ReservationId'>;

export type PaymentStatus = 'captured' | 'failed' | 'refunded';

/** What the service has recorded for one reservation. */
export type PaymentRecord = {
  cancelled: boolean;
  payment: { id: PaymentId; status: PaymentStatus } | undefined;
};

export type OnStockReserved =
  | { action: 'charge' }
  | { action: 'skip'; why: 'cancelled-before-charge' | 'already-charged' | 'already-failed' };

/** stock.reserved: charge once, and never a reservation already cancelled (its tombstone). */
export function onStockReserved(record: PaymentRecord): OnStockReserved {
  if (record.payment) {
    const status = record.payment.status;
    switch (status) {
      case 'captured':
      case 'refunded':
        return { action: 'skip', why: 'already-charged' };
      case 'failed':
        return { action: 'skip', why: 'already-failed' };
      default:
        return assertNever(status);
    }
  }
  if (record.cancelled) return { action: 'skip', why: 'cancelled-before-charge' };
  return { action: 'charge' };
}

export type OnReservationCancelled =
  | { action: 'refund'; paymentId: PaymentId }
  | { action: 'tombstone-only'; why: 'not-charged' | 'charge-failed' | 'already-refunded' };

/** reservation.cancelled: refund a capture, exactly once; otherwise only remember the cancel. */
export function onReservationCancelled(record: PaymentRecord): OnReservationCancelled {
  if (!record.payment) return { action: 'tombstone-only', why: 'not-charged' };
  const status = record.payment.status;
  switch (status) {
    case 'captured':
      return { action: 'refund', paymentId: record.payment.id };
    case 'refunded':
      return { action: 'tombstone-only', why: 'already-refunded' };
    case 'failed':
      return { action: 'tombstone-only', why: 'charge-failed' };
    default:
      return assertNever(status);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled payment status ${String(value)}`);
}

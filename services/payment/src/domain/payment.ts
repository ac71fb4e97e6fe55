// What the payment participant does for each saga event, given what it already knows about the
// reservation. Events of one saga arrive on different topics, in any order and possibly twice. A
// charge is an intent (`pending`) until the provider's answer is recorded; the provider is called
// between the two transactions, never inside one.
import type { Brand } from './brand.ts';

export type PaymentId = Brand<string, 'PaymentId'>;
export type ReservationId = Brand<string, 'ReservationId'>;

export type PaymentStatus = 'pending' | 'captured' | 'failed' | 'refunded';

/** What the service has recorded for one reservation. */
export type PaymentRecord = {
  cancelled: boolean;
  payment: { id: PaymentId; status: PaymentStatus } | undefined;
};

export type OnStockReserved =
  | { action: 'charge' }
  /** An intent with no recorded answer (a crash, a redelivery): ask the provider again, same key. */
  | { action: 'resume' }
  | { action: 'skip'; why: 'cancelled-before-charge' | 'already-charged' | 'already-failed' };

/**
 * stock.reserved: charge once, and never a reservation already cancelled (its tombstone). An intent
 * recorded before the cancel is still resolved: the provider may have captured it, and then the
 * capture is refunded.
 */
export function onStockReserved(record: PaymentRecord): OnStockReserved {
  if (record.payment) {
    const status = record.payment.status;
    switch (status) {
      case 'pending':
        return { action: 'resume' };
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
  | {
      action: 'tombstone-only';
      why: 'not-charged' | 'charge-pending' | 'charge-failed' | 'already-refunded' | 'not-cancelled';
    };

/**
 * reservation.cancelled: refund a capture, exactly once; otherwise only remember the cancel. A charge
 * still pending refunds itself once its capture is recorded (it finds the tombstone then).
 */
export function onReservationCancelled(record: PaymentRecord): OnReservationCancelled {
  if (!record.cancelled) return { action: 'tombstone-only', why: 'not-cancelled' };
  if (!record.payment) return { action: 'tombstone-only', why: 'not-charged' };
  const status = record.payment.status;
  switch (status) {
    case 'pending':
      return { action: 'tombstone-only', why: 'charge-pending' };
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

/**
 * Why a stock.reserved cannot be charged as it is: the amount must be the reservation's total (the
 * unit price times the seats). Undefined when it is.
 */
export function implausibleCharge(event: {
  unitPriceMinor: number;
  quantity: number;
  amountMinor: number;
  currency: string;
}): string | undefined {
  const total = event.unitPriceMinor * event.quantity;
  return event.amountMinor === total
    ? undefined
    : `amount ${event.amountMinor} ${event.currency} is not the reservation's total ${total} ${event.currency} (${event.quantity} × ${event.unitPriceMinor})`;
}

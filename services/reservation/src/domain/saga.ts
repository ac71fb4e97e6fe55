// The booking saga as the reservation service owns it: a pure state machine over the saga's
// outcomes. The participants' events travel on different topics, so they may arrive in any order
// and more than once. Each one therefore says how far the saga has got (a ticket issued implies a
// payment, which implies a hold), the status only ever moves forward, and once the saga has ended
// (CONFIRMED or CANCELLED) nothing changes it: the participants compensate from
// reservation.cancelled on their own.
import type { CancelReason, PaymentFailureReason, SagaStep, StockFailureReason } from '@reservex/contracts';

export const reservationStatuses = [
  'PENDING',
  'AWAITING_PAYMENT',
  'AWAITING_TICKETS',
  'CONFIRMED',
  'CANCELLED',
] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];
export type OpenStatus = Exclude<ReservationStatus, 'CONFIRMED' | 'CANCELLED'>;

/** Something that happened to a saga, from a participant's event or from inside this service. */
export type SagaInput =
  | { readonly type: 'stock.reserved' }
  | { readonly type: 'stock.failed'; readonly reason: StockFailureReason }
  | { readonly type: 'payment.completed' }
  | { readonly type: 'payment.failed'; readonly reason: PaymentFailureReason }
  | { readonly type: 'ticket.issued' }
  | { readonly type: 'ticket.issue.failed'; readonly reason: string }
  | { readonly type: 'user.cancelled' }
  | { readonly type: 'hold.expired' }
  /** An event of this saga was dead-lettered: the step that needed it will never happen. */
  | { readonly type: 'event.rejected'; readonly topic: string; readonly consumer?: string };

export type Cancellation = {
  readonly reason: CancelReason;
  readonly failedStep: SagaStep;
  readonly detail?: string;
};

export type SagaDecision =
  | { readonly kind: 'advance'; readonly to: Exclude<OpenStatus, 'PENDING'> }
  | { readonly kind: 'confirm' }
  | ({ readonly kind: 'cancel' } & Cancellation)
  | { readonly kind: 'ignore'; readonly why: string };

const progress: Record<OpenStatus, number> = { PENDING: 0, AWAITING_PAYMENT: 1, AWAITING_TICKETS: 2 };

export function isFinal(status: ReservationStatus): status is 'CONFIRMED' | 'CANCELLED' {
  return status === 'CONFIRMED' || status === 'CANCELLED';
}

export function decide(status: ReservationStatus, input: SagaInput): SagaDecision {
  if (isFinal(status)) return { kind: 'ignore', why: `saga already ${status}` };
  switch (input.type) {
    case 'stock.reserved':
      return advance(status, 'AWAITING_PAYMENT');
    case 'payment.completed':
      return advance(status, 'AWAITING_TICKETS');
    case 'ticket.issued':
      return { kind: 'confirm' };
    case 'stock.failed':
      return cancel(stockCancelReason(input.reason), 'stock', input.reason);
    case 'payment.failed':
      return cancel(
        input.reason === 'PROCESSOR_ERROR' ? 'PAYMENT_FAILED' : 'PAYMENT_DECLINED',
        'payment',
        input.reason,
      );
    case 'ticket.issue.failed':
      return cancel('TICKET_FAILED', 'ticket', input.reason);
    case 'user.cancelled':
      return cancel('USER_CANCELLED', 'user');
    case 'hold.expired':
      return cancel('EXPIRED', 'expiry');
    case 'event.rejected':
      return cancel(
        'REJECTED_EVENT',
        'delivery',
        `${input.topic} was dead-lettered${input.consumer ? ` by ${input.consumer}` : ''}`,
      );
    default:
      return unreachable(input);
  }
}

/** The status a decision leads to from `status`. */
export function statusAfter(status: ReservationStatus, decision: SagaDecision): ReservationStatus {
  switch (decision.kind) {
    case 'advance':
      return decision.to;
    case 'confirm':
      return 'CONFIRMED';
    case 'cancel':
      return 'CANCELLED';
    case 'ignore':
      return status;
    default:
      return unreachable(decision);
  }
}

/**
 * SOLD_OUT when there was not enough stock; the other refusals are races with the checks made when
 * the reservation was accepted (the type removed, the sale closed, the limit lowered): NOT_AVAILABLE,
 * with the stock's own reason as detail.
 */
function stockCancelReason(reason: StockFailureReason): CancelReason {
  return reason === 'SOLD_OUT' ? 'SOLD_OUT' : 'NOT_AVAILABLE';
}

function advance(status: OpenStatus, to: Exclude<OpenStatus, 'PENDING'>): SagaDecision {
  return progress[to] > progress[status]
    ? { kind: 'advance', to }
    : { kind: 'ignore', why: `already ${status}, ${to} is behind` };
}

function cancel(reason: CancelReason, failedStep: SagaStep, detail?: string): SagaDecision {
  return detail === undefined
    ? { kind: 'cancel', reason, failedStep }
    : { kind: 'cancel', reason, failedStep, detail };
}

function unreachable(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}

// The saga's events: one topic per event type, one zod schema per topic, shared by every publisher
// and consumer. A payload carries `schemaVersion`; a consumer accepts the versions it knows and
// dead-letters the rest. Money is an integer amount of the currency's minor unit (cents).
import { z } from 'zod';
import { text } from './text.ts';

export const SCHEMA_VERSION = 1 as const;

const id = z.string().min(1).max(128);
const uuid = z.uuid();
const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR');
const minor = z.number().int().nonnegative();
const quantity = z.number().int().positive();
const instant = z.iso.datetime({ offset: true });

/** The saga step that failed, for a cancelled reservation. */
export const SagaStep = z.enum(['stock', 'payment', 'ticket', 'expiry', 'user', 'delivery']);
export type SagaStep = z.infer<typeof SagaStep>;

/** Why a reservation was cancelled; stable values the API and the read model expose. */
export const CancelReason = z.enum([
  'SOLD_OUT',
  /** The stock refused for another reason (the sale closed, the type was removed, the limit lowered). */
  'NOT_AVAILABLE',
  'PAYMENT_DECLINED',
  'PAYMENT_FAILED',
  'TICKET_FAILED',
  'EXPIRED',
  'USER_CANCELLED',
  'REJECTED_EVENT',
]);
export type CancelReason = z.infer<typeof CancelReason>;

/** The card the buyer chose; the sandbox provider reads its behaviour from the token. */
export const PaymentMethod = z.object({ token: text({ min: 1, max: 64 }) });
export type PaymentMethod = z.infer<typeof PaymentMethod>;

/** Fields every event of one saga carries so each consumer can act on its own. */
const sagaRef = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  reservationId: uuid,
  occurredAt: instant,
};

const booking = {
  userId: id,
  showId: uuid,
  ticketTypeId: uuid,
  quantity,
};

export const ReservationCreated = z.object({
  ...sagaRef,
  ...booking,
  paymentMethod: PaymentMethod,
  holdExpiresAt: instant,
});

export const ReservationConfirmed = z.object({ ...sagaRef, ...booking });

export const ReservationCancelled = z.object({
  ...sagaRef,
  ...booking,
  reason: CancelReason,
  failedStep: SagaStep,
  detail: z.string().max(500).optional(),
});

/** The participants' steps, in the order the saga reaches them. */
export const participantSteps = ['stock', 'payment', 'ticket'] as const;
export type ParticipantStep = (typeof participantSteps)[number];

/**
 * Whether a cancellation leaves the participant of `step` nothing to undo and nothing to guard
 * against: the saga was refused at an earlier step, so `step` was never asked, or the stock itself
 * refused, so inventory took nothing. Each refusal is its step's one answer to the saga (stock.failed
 * instead of stock.reserved, payment.failed instead of payment.completed), so no later event of the
 * saga can reach the participant either. Any other cancellation (expiry, the user, a dead letter, a
 * refusal at or after `step`) may find something taken, or something still on its way.
 */
export function nothingToUndo(
  event: Pick<EventOf<'reservation.cancelled'>, 'failedStep'>,
  step: ParticipantStep,
) {
  const failed = participantSteps.indexOf(event.failedStep as ParticipantStep);
  if (failed < 0) return false;
  return failed < participantSteps.indexOf(step) || (step === 'stock' && event.failedStep === 'stock');
}

export const StockReserved = z.object({
  ...sagaRef,
  ...booking,
  unitPriceMinor: minor,
  amountMinor: minor,
  currency,
  /** Carried forward from reservation.created: payment consumes only this event. */
  paymentMethod: PaymentMethod,
});

export const StockFailureReason = z.enum([
  'SOLD_OUT',
  'UNKNOWN_TICKET_TYPE',
  'SALE_CLOSED',
  'LIMIT_EXCEEDED',
]);
export type StockFailureReason = z.infer<typeof StockFailureReason>;

export const StockFailed = z.object({
  ...sagaRef,
  ...booking,
  reason: StockFailureReason,
  available: z.number().int().nonnegative().optional(),
});

export const StockReleased = z.object({ ...sagaRef, ...booking });

export const PaymentFailureReason = z.enum(['DECLINED', 'INSUFFICIENT_FUNDS', 'PROCESSOR_ERROR']);
export type PaymentFailureReason = z.infer<typeof PaymentFailureReason>;

export const PaymentCompleted = z.object({
  ...sagaRef,
  ...booking,
  paymentId: uuid,
  amountMinor: minor,
  currency,
});

export const PaymentFailed = z.object({
  ...sagaRef,
  ...booking,
  reason: PaymentFailureReason,
  amountMinor: minor,
  currency,
});

export const PaymentRefunded = z.object({
  ...sagaRef,
  paymentId: uuid,
  amountMinor: minor,
  currency,
});

export const TicketIssued = z.object({
  ...sagaRef,
  ...booking,
  ticketIds: z.array(uuid).min(1),
});

export const TicketIssueFailed = z.object({
  ...sagaRef,
  ...booking,
  reason: z.string().min(1).max(200),
});

export const TicketVoided = z.object({ ...sagaRef, ticketIds: z.array(uuid) });

/** Topic name → payload schema. The topic name is also the CloudEvent `type`. */
export const events = {
  'reservation.created': ReservationCreated,
  'reservation.confirmed': ReservationConfirmed,
  'reservation.cancelled': ReservationCancelled,
  'stock.reserved': StockReserved,
  'stock.failed': StockFailed,
  'stock.released': StockReleased,
  'payment.completed': PaymentCompleted,
  'payment.failed': PaymentFailed,
  'payment.refunded': PaymentRefunded,
  'ticket.issued': TicketIssued,
  'ticket.issue.failed': TicketIssueFailed,
  'ticket.voided': TicketVoided,
} as const;

export type Topic = keyof typeof events;
export type EventOf<T extends Topic> = z.infer<(typeof events)[T]>;
export const topics = Object.keys(events) as Topic[];

export function isTopic(name: string): name is Topic {
  return Object.hasOwn(events, name);
}

/** A saga event as a discriminated union, for exhaustive handling (`switch (e.topic)`). */
export type SagaEvent = { [T in Topic]: { topic: T; data: EventOf<T> } }[Topic];

/**
 * Where events a consumer can never handle end up (schema-invalid, unknown version, or failing
 * after every retry). One topic for the whole platform: the CloudEvent keeps its original topic
 * and the consumer that gave up, so an operator can list and replay them.
 */
export const DEAD_LETTER_TOPIC = 'reservex.deadletter';

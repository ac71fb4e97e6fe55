// ReservationDetails as a pure function of the SET of saga events seen for one reservation.
// Events of one saga travel on different topics and arrive in any order, possibly twice; deriving the
// details from the whole set (with a precedence for every field) makes the projection idempotent and
// order-independent by construction: an older event can never overwrite newer state.
import {
  type CancelReason,
  canonicalJson,
  type EventOf,
  type SagaEvent,
  type SagaStep,
  type Topic,
} from '@reservex/contracts';

export type RecordedEvent = SagaEvent & {
  /** CloudEvent id. */
  eventId: string;
  /** W3C traceparent of the CloudEvent, when tracing was on. */
  traceparent?: string | undefined;
};

export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export type ReservationDetails = {
  reservationId: string;
  status: ReservationStatus;
  userId: string | null;
  showId: string | null;
  ticketTypeId: string | null;
  quantity: number | null;
  unitPriceMinor: number | null;
  amountMinor: number | null;
  currency: string | null;
  holdExpiresAt: string | null;
  stock: { status: 'HELD' | 'SOLD' | 'RELEASED' | 'FAILED'; failureReason: string | null } | null;
  payment: {
    status: 'CAPTURED' | 'FAILED' | 'REFUNDED';
    paymentId: string | null;
    amountMinor: number;
    currency: string;
    failureReason: string | null;
  } | null;
  tickets: {
    status: 'ISSUED' | 'VOIDED' | 'FAILED';
    ticketIds: string[];
    failureReason: string | null;
  } | null;
  failure: { reason: CancelReason; step: SagaStep; detail: string | null } | null;
  traceId: string | null;
  createdAt: string | null;
  updatedAt: string;
  timeline: TimelineEntry[];
};

export type TimelineEntry = {
  eventId: string;
  type: Topic;
  occurredAt: string;
  data: Record<string, unknown>;
};

/** The order of the saga's steps, to order events that carry the same instant. */
const sagaOrder: Record<Topic, number> = {
  'reservation.created': 0,
  'stock.reserved': 1,
  'stock.failed': 1,
  'payment.completed': 2,
  'payment.failed': 2,
  'ticket.issued': 3,
  'ticket.issue.failed': 3,
  'reservation.confirmed': 4,
  'reservation.cancelled': 5,
  'stock.released': 6,
  'payment.refunded': 6,
  'ticket.voided': 6,
};

/** A reservation only moves forward: PENDING → CONFIRMED → CANCELLED (a confirmed one may still be cancelled). */
const statusRank: Record<ReservationStatus, number> = { PENDING: 0, CONFIRMED: 1, CANCELLED: 2 };

/**
 * Identifies an event by what it says rather than by its CloudEvent id, so an event published again
 * (a dead letter replayed gets a new id) is still recognised as the same one.
 */
export function eventFingerprint(event: Pick<SagaEvent, 'topic' | 'data'>): string {
  return `${event.topic}|${canonicalJson(event.data)}`;
}

function compareEvents(a: RecordedEvent, b: RecordedEvent): number {
  return (
    a.data.occurredAt.localeCompare(b.data.occurredAt) ||
    sagaOrder[a.topic] - sagaOrder[b.topic] ||
    eventFingerprint(a).localeCompare(eventFingerprint(b)) ||
    a.eventId.localeCompare(b.eventId)
  );
}

/** The trace id (32 hex) of a W3C traceparent `00-<trace id>-<span id>-<flags>`. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? '');
  return match?.[1] && !/^0+$/.test(match[1]) ? match[1] : null;
}

type Of<T extends Topic> = RecordedEvent & { topic: T; data: EventOf<T> };

function first<T extends Topic>(events: readonly RecordedEvent[], topic: T): Of<T> | undefined {
  return events.find((event): event is Of<T> => event.topic === topic);
}

function has(events: readonly RecordedEvent[], topic: Topic): boolean {
  return events.some((event) => event.topic === topic);
}

function timelineData(event: RecordedEvent): Record<string, unknown> {
  // The card token chose the sandbox's behaviour; it is no business of a timeline reader.
  const { paymentMethod: _card, ...rest } = event.data as Record<string, unknown>;
  return rest;
}

export function project(reservationId: string, seen: readonly RecordedEvent[]): ReservationDetails {
  const byFingerprint = new Map<string, RecordedEvent>();
  for (const event of [...seen].sort(compareEvents)) {
    if (event.data.reservationId !== reservationId) {
      throw new Error(`event ${event.eventId} belongs to reservation ${event.data.reservationId}`);
    }
    const key = eventFingerprint(event);
    if (!byFingerprint.has(key)) byFingerprint.set(key, event);
  }
  const events = [...byFingerprint.values()];

  const status = events.reduce<ReservationStatus>((current, event) => {
    const next = statusOf(event);
    return next && statusRank[next] > statusRank[current] ? next : current;
  }, 'PENDING');

  const booking = events.find((event) => 'userId' in event.data)?.data as
    | EventOf<'reservation.created'>
    | undefined;
  const created = first(events, 'reservation.created');
  const reserved = first(events, 'stock.reserved');
  const stockFailed = first(events, 'stock.failed');
  const completed = first(events, 'payment.completed');
  const paymentFailed = first(events, 'payment.failed');
  const refunded = first(events, 'payment.refunded');
  const issued = first(events, 'ticket.issued');
  const issueFailed = first(events, 'ticket.issue.failed');
  const voided = first(events, 'ticket.voided');
  const cancelled = first(events, 'reservation.cancelled');

  const stock: ReservationDetails['stock'] = has(events, 'stock.released')
    ? { status: 'RELEASED', failureReason: null }
    : reserved
      ? { status: status === 'CONFIRMED' ? 'SOLD' : 'HELD', failureReason: null }
      : stockFailed
        ? { status: 'FAILED', failureReason: stockFailed.data.reason }
        : null;

  const paid = refunded ?? completed;
  const payment: ReservationDetails['payment'] = paid
    ? {
        status: refunded ? 'REFUNDED' : 'CAPTURED',
        paymentId: paid.data.paymentId,
        amountMinor: paid.data.amountMinor,
        currency: paid.data.currency,
        failureReason: null,
      }
    : paymentFailed
      ? {
          status: 'FAILED',
          paymentId: null,
          amountMinor: paymentFailed.data.amountMinor,
          currency: paymentFailed.data.currency,
          failureReason: paymentFailed.data.reason,
        }
      : null;

  const ticketIds = [
    ...new Set([...(issued?.data.ticketIds ?? []), ...(voided?.data.ticketIds ?? [])]),
  ].sort();
  const tickets: ReservationDetails['tickets'] = voided
    ? { status: 'VOIDED', ticketIds, failureReason: null }
    : issued
      ? { status: 'ISSUED', ticketIds, failureReason: null }
      : issueFailed
        ? { status: 'FAILED', ticketIds: [], failureReason: issueFailed.data.reason }
        : null;

  const amount = reserved?.data ?? paid?.data ?? paymentFailed?.data;
  const traced = created?.traceparent ? created : events.find((event) => traceIdOf(event.traceparent));

  return {
    reservationId,
    status,
    userId: booking?.userId ?? null,
    showId: booking?.showId ?? null,
    ticketTypeId: booking?.ticketTypeId ?? null,
    quantity: booking?.quantity ?? null,
    unitPriceMinor: reserved?.data.unitPriceMinor ?? null,
    amountMinor: amount?.amountMinor ?? null,
    currency: amount?.currency ?? null,
    holdExpiresAt: created?.data.holdExpiresAt ?? null,
    stock,
    payment,
    tickets,
    failure: cancelled
      ? {
          reason: cancelled.data.reason,
          step: cancelled.data.failedStep,
          detail: cancelled.data.detail ?? null,
        }
      : null,
    traceId: traceIdOf(traced?.traceparent),
    createdAt: created?.data.occurredAt ?? null,
    // Events are in occurrence order.
    updatedAt: events.at(-1)?.data.occurredAt ?? '',
    timeline: events.map((event) => ({
      eventId: event.eventId,
      type: event.topic,
      occurredAt: event.data.occurredAt,
      data: timelineData(event),
    })),
  };
}

function statusOf(event: RecordedEvent): ReservationStatus | undefined {
  switch (event.topic) {
    case 'reservation.created':
      return 'PENDING';
    case 'reservation.confirmed':
      return 'CONFIRMED';
    case 'reservation.cancelled':
      return 'CANCELLED';
    case 'stock.reserved':
    case 'stock.failed':
    case 'stock.released':
    case 'payment.completed':
    case 'payment.failed':
    case 'payment.refunded':
    case 'ticket.issued':
    case 'ticket.issue.failed':
    case 'ticket.voided':
      return undefined;
    default:
      return assertNever(event);
  }
}

/** Terminal statuses: the saga has decided (compensations may still follow a cancel). */
export function isSettled(status: ReservationStatus): boolean {
  return status !== 'PENDING';
}

function assertNever(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}

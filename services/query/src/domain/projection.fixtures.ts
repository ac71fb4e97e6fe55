// Realistic event sets of one saga, for tests of the projection (unit and against the database).
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from './projection.ts';

export type SagaPath =
  | 'confirmed'
  | 'sold-out'
  | 'declined'
  | 'ticket-failed'
  | 'user-cancelled-after-payment';

export const sagaPaths: readonly SagaPath[] = [
  'confirmed',
  'sold-out',
  'declined',
  'ticket-failed',
  'user-cancelled-after-payment',
];

const at = (start: number, step: number) => new Date(start + step * 1000).toISOString();

/** The events one saga produces on the given path, each with its own CloudEvent id. */
export function sagaEvents(path: SagaPath, reservationId: string = randomUUID()): RecordedEvent[] {
  const start = Date.parse('2026-03-01T18:00:00.000Z');
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const booking = {
    schemaVersion: 1 as const,
    reservationId,
    userId: 'user-1',
    showId: '6a1f8f0e-7d3c-4c1a-9b2e-5f4d3c2b1a09',
    ticketTypeId: '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b',
    quantity: 2,
  };
  const paymentId = randomUUID();
  const ticketIds = [randomUUID(), randomUUID()];
  const money = { amountMinor: 9000, currency: 'EUR' };
  const created: RecordedEvent = {
    eventId: randomUUID(),
    traceparent,
    topic: 'reservation.created',
    data: {
      ...booking,
      occurredAt: at(start, 0),
      paymentMethod: { token: 'tok_success' },
      holdExpiresAt: at(start, 600),
    },
  };
  const reserved: RecordedEvent = {
    eventId: randomUUID(),
    traceparent,
    topic: 'stock.reserved',
    data: {
      ...booking,
      occurredAt: at(start, 1),
      unitPriceMinor: 4500,
      ...money,
      paymentMethod: { token: 'tok_success' },
    },
  };
  const completed: RecordedEvent = {
    eventId: randomUUID(),
    traceparent,
    topic: 'payment.completed',
    data: { ...booking, occurredAt: at(start, 2), paymentId, ...money },
  };
  const cancelled = (
    step: number,
    reason: 'SOLD_OUT' | 'PAYMENT_DECLINED' | 'TICKET_FAILED' | 'USER_CANCELLED',
  ) =>
    ({
      eventId: randomUUID(),
      traceparent,
      topic: 'reservation.cancelled',
      data: {
        ...booking,
        occurredAt: at(start, step),
        reason,
        failedStep: (
          {
            SOLD_OUT: 'stock',
            PAYMENT_DECLINED: 'payment',
            TICKET_FAILED: 'ticket',
            USER_CANCELLED: 'user',
          } as const
        )[reason],
      },
    }) satisfies RecordedEvent;
  const released = (step: number): RecordedEvent => ({
    eventId: randomUUID(),
    traceparent,
    topic: 'stock.released',
    data: { ...booking, occurredAt: at(start, step) },
  });
  const refunded = (step: number): RecordedEvent => ({
    eventId: randomUUID(),
    traceparent,
    topic: 'payment.refunded',
    data: { schemaVersion: 1, reservationId, occurredAt: at(start, step), paymentId, ...money },
  });

  switch (path) {
    case 'confirmed':
      return [
        created,
        reserved,
        completed,
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'ticket.issued',
          data: { ...booking, occurredAt: at(start, 3), ticketIds },
        },
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'reservation.confirmed',
          data: { ...booking, occurredAt: at(start, 4) },
        },
      ];
    case 'sold-out':
      return [
        created,
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'stock.failed',
          data: { ...booking, occurredAt: at(start, 1), reason: 'SOLD_OUT', available: 0 },
        },
        cancelled(2, 'SOLD_OUT'),
      ];
    case 'declined':
      return [
        created,
        reserved,
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'payment.failed',
          data: { ...booking, occurredAt: at(start, 2), reason: 'DECLINED', ...money },
        },
        cancelled(3, 'PAYMENT_DECLINED'),
        released(4),
      ];
    case 'ticket-failed':
      return [
        created,
        reserved,
        completed,
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'ticket.issue.failed',
          data: { ...booking, occurredAt: at(start, 3), reason: 'SHOW_LOCKED_FOR_ISSUING' },
        },
        cancelled(4, 'TICKET_FAILED'),
        released(5),
        refunded(5),
      ];
    case 'user-cancelled-after-payment':
      return [
        created,
        reserved,
        completed,
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'ticket.issued',
          data: { ...booking, occurredAt: at(start, 3), ticketIds },
        },
        cancelled(4, 'USER_CANCELLED'),
        released(5),
        refunded(5),
        {
          eventId: randomUUID(),
          traceparent,
          topic: 'ticket.voided',
          data: { schemaVersion: 1, reservationId, occurredAt: at(start, 5), ticketIds },
        },
      ];
    default:
      return assertNever(path);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown saga path ${String(value)}`);
}

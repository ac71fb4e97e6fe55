import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SagaPath, sagaEvents, sagaPaths } from './projection.fixtures.ts';
import { eventFingerprint, project, type RecordedEvent, traceIdOf } from './projection.ts';

const idOf = (events: RecordedEvent[]) => events[0]!.data.reservationId;

/** Any arrival order of a saga's events, with some delivered again (same id) or republished (new id). */
const arrivals = (events: RecordedEvent[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: 0, maxLength: events.length }),
      fc.shuffledSubarray(events, { minLength: 0, maxLength: events.length }),
      fc.boolean(),
    )
    .chain(([again, republished, _]) =>
      fc.shuffledSubarray(
        [...events, ...again, ...republished.map((event) => ({ ...event, eventId: `z-${randomUUID()}` }))],
        { minLength: events.length + again.length + republished.length },
      ),
    );

describe('project', () => {
  it.each([
    ['confirmed', 'CONFIRMED', null],
    ['sold-out', 'CANCELLED', 'SOLD_OUT'],
    ['declined', 'CANCELLED', 'PAYMENT_DECLINED'],
    ['ticket-failed', 'CANCELLED', 'TICKET_FAILED'],
    ['user-cancelled-after-payment', 'CANCELLED', 'USER_CANCELLED'],
  ] as const)('derives %s → %s (%s)', (path, status, reason) => {
    const events = sagaEvents(path);
    const details = project(idOf(events), events);
    expect(details.status).toBe(status);
    expect(details.failure?.reason ?? null).toBe(reason);
    expect(details.timeline.map((entry) => entry.type).sort()).toEqual(
      events.map((event) => event.topic).sort(),
    );
    const instants = details.timeline.map((entry) => entry.occurredAt);
    expect(instants).toEqual([...instants].sort());
    expect(details.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(details.userId).toBe('user-1');
  });

  it('shows every step of a confirmed reservation', () => {
    const events = sagaEvents('confirmed');
    expect(project(idOf(events), events)).toMatchObject({
      status: 'CONFIRMED',
      quantity: 2,
      unitPriceMinor: 4500,
      amountMinor: 9000,
      currency: 'EUR',
      stock: { status: 'SOLD' },
      payment: { status: 'CAPTURED', amountMinor: 9000 },
      tickets: { status: 'ISSUED', ticketIds: expect.any(Array) },
      failure: null,
      createdAt: '2026-03-01T18:00:00.000Z',
      updatedAt: '2026-03-01T18:00:04.000Z',
    });
  });

  it('shows what was compensated after a cancel', () => {
    const events = sagaEvents('user-cancelled-after-payment');
    expect(project(idOf(events), events)).toMatchObject({
      status: 'CANCELLED',
      stock: { status: 'RELEASED' },
      payment: { status: 'REFUNDED' },
      tickets: { status: 'VOIDED' },
      failure: { reason: 'USER_CANCELLED', step: 'user' },
    });
  });

  it('keeps the card token out of the timeline', () => {
    const events = sagaEvents('confirmed');
    expect(JSON.stringify(project(idOf(events), events).timeline)).not.toContain('tok_success');
  });

  it('knows a reservation from a later event before its creation arrives', () => {
    const events = sagaEvents('declined').filter((event) => event.topic === 'payment.failed');
    expect(project(idOf(events), events)).toMatchObject({
      status: 'PENDING',
      payment: { status: 'FAILED', failureReason: 'DECLINED' },
      createdAt: null,
    });
  });

  it('refuses an event of another reservation', () => {
    const events = sagaEvents('confirmed');
    expect(() => project(randomUUID(), events)).toThrow(/belongs to reservation/);
  });

  it('is independent of arrival order, redeliveries and republished copies', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SagaPath>(...sagaPaths).chain((path) => {
          const events = sagaEvents(path);
          return fc.tuple(fc.constant(events), arrivals(events));
        }),
        ([events, arrived]) => {
          const expected = project(idOf(events), events);
          const actual = project(idOf(events), arrived);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000); // three hundred arrival orders: seconds on a busy machine

  it('never lets an older event lower the status', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SagaPath>(...sagaPaths).chain((path) => {
          const events = sagaEvents(path);
          return fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: 1 }));
        }),
        ([events, seen]) => {
          const final = project(idOf(events), events).status;
          const partial = project(idOf(events), seen).status;
          const settled = seen.some(
            (event) => event.topic === 'reservation.cancelled' || event.topic === 'reservation.confirmed',
          );
          if (seen.some((event) => event.topic === 'reservation.cancelled'))
            expect(partial).toBe('CANCELLED');
          if (settled) expect(partial).toBe(final);
          else expect(partial).toBe('PENDING');
        },
      ),
    );
  });
});

describe('eventFingerprint', () => {
  it('ignores key order and the CloudEvent id', () => {
    const [created] = sagaEvents('confirmed');
    const reordered = Object.fromEntries(Object.entries(created!.data).reverse());
    expect(eventFingerprint({ topic: created!.topic, data: reordered as never })).toBe(
      eventFingerprint(created!),
    );
  });
});

describe('traceIdOf', () => {
  it('reads the trace id of a W3C traceparent', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(traceIdOf('garbage')).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });
});

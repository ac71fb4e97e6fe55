import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  isFinal,
  type ReservationStatus,
  reservationStatuses,
  type SagaInput,
  statusAfter,
} from './saga.ts';

const inputs: SagaInput[] = [
  { type: 'stock.reserved' },
  { type: 'stock.failed', reason: 'SOLD_OUT' },
  { type: 'stock.failed', reason: 'SALE_CLOSED' },
  { type: 'payment.completed' },
  { type: 'payment.failed', reason: 'DECLINED' },
  { type: 'payment.failed', reason: 'INSUFFICIENT_FUNDS' },
  { type: 'payment.failed', reason: 'PROCESSOR_ERROR' },
  { type: 'ticket.issued' },
  { type: 'ticket.issue.failed', reason: 'show locked for issuing' },
  { type: 'user.cancelled' },
  { type: 'hold.expired' },
  { type: 'event.rejected', topic: 'stock.reserved', consumer: 'payment' },
];

describe('the happy path', () => {
  it('walks PENDING → AWAITING_PAYMENT → AWAITING_TICKETS → CONFIRMED', () => {
    let status: ReservationStatus = 'PENDING';
    const seen: ReservationStatus[] = [status];
    for (const input of [
      { type: 'stock.reserved' },
      { type: 'payment.completed' },
      { type: 'ticket.issued' },
    ] as const) {
      status = statusAfter(status, decide(status, input));
      seen.push(status);
    }
    expect(seen).toEqual(['PENDING', 'AWAITING_PAYMENT', 'AWAITING_TICKETS', 'CONFIRMED']);
  });
});

describe('cancellations name the reason and the failed step', () => {
  it.each([
    [{ type: 'stock.failed', reason: 'SOLD_OUT' }, 'SOLD_OUT', 'stock', 'SOLD_OUT'],
    [
      { type: 'stock.failed', reason: 'UNKNOWN_TICKET_TYPE' },
      'NOT_AVAILABLE',
      'stock',
      'UNKNOWN_TICKET_TYPE',
    ],
    [{ type: 'stock.failed', reason: 'SALE_CLOSED' }, 'NOT_AVAILABLE', 'stock', 'SALE_CLOSED'],
    [{ type: 'stock.failed', reason: 'LIMIT_EXCEEDED' }, 'NOT_AVAILABLE', 'stock', 'LIMIT_EXCEEDED'],
    [{ type: 'payment.failed', reason: 'DECLINED' }, 'PAYMENT_DECLINED', 'payment', 'DECLINED'],
    [
      { type: 'payment.failed', reason: 'INSUFFICIENT_FUNDS' },
      'PAYMENT_DECLINED',
      'payment',
      'INSUFFICIENT_FUNDS',
    ],
    [{ type: 'payment.failed', reason: 'PROCESSOR_ERROR' }, 'PAYMENT_FAILED', 'payment', 'PROCESSOR_ERROR'],
    [{ type: 'ticket.issue.failed', reason: 'locked' }, 'TICKET_FAILED', 'ticket', 'locked'],
    [{ type: 'user.cancelled' }, 'USER_CANCELLED', 'user', undefined],
    [{ type: 'hold.expired' }, 'EXPIRED', 'expiry', undefined],
    [
      { type: 'event.rejected', topic: 'stock.reserved', consumer: 'payment' },
      'REJECTED_EVENT',
      'delivery',
      'stock.reserved was dead-lettered by payment',
    ],
  ] as [SagaInput, string, string, string | undefined][])('%j', (input, reason, failedStep, detail) => {
    const decision = decide('AWAITING_PAYMENT', input);
    expect(decision).toEqual({
      kind: 'cancel',
      reason,
      failedStep,
      ...(detail === undefined ? {} : { detail }),
    });
  });
});

describe('out of order', () => {
  it('confirms on ticket.issued even before the earlier steps were heard of', () => {
    expect(decide('PENDING', { type: 'ticket.issued' })).toEqual({ kind: 'confirm' });
  });

  it('skips ahead on payment.completed and ignores a late stock.reserved', () => {
    expect(decide('PENDING', { type: 'payment.completed' })).toEqual({
      kind: 'advance',
      to: 'AWAITING_TICKETS',
    });
    expect(decide('AWAITING_TICKETS', { type: 'stock.reserved' }).kind).toBe('ignore');
    expect(decide('AWAITING_PAYMENT', { type: 'stock.reserved' }).kind).toBe('ignore');
  });

  it('changes nothing once ended', () => {
    for (const status of ['CONFIRMED', 'CANCELLED'] as const) {
      for (const input of inputs)
        expect(decide(status, input).kind, `${status} ${input.type}`).toBe('ignore');
    }
  });
});

describe('any sequence of inputs (property)', () => {
  const rank = (s: ReservationStatus) => reservationStatuses.indexOf(s);

  it('moves only forward, ends at most once, and confirms only on a ticket issued', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...inputs), { maxLength: 40 }), (sequence) => {
        let status: ReservationStatus = 'PENDING';
        let endings = 0;
        for (const input of sequence) {
          const decision = decide(status, input);
          const next = statusAfter(status, decision);
          if (isFinal(status)) expect(next).toBe(status);
          else if (!isFinal(next)) expect(rank(next)).toBeGreaterThanOrEqual(rank(status));
          if (next === 'CONFIRMED' && status !== 'CONFIRMED') expect(input.type).toBe('ticket.issued');
          if (next === 'CANCELLED' && status !== 'CANCELLED') {
            expect(decision.kind).toBe('cancel');
          }
          if (isFinal(next) && !isFinal(status)) endings++;
          status = next;
        }
        expect(endings).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('ends the same way whatever the duplicates, as long as the first ending input is the same', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...inputs), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sequence, dupes) => {
          const withDupes = sequence.flatMap((input, i) =>
            dupes[i] !== undefined && dupes[i] % 3 === 0 ? [input, input] : [input],
          );
          const fold = (xs: SagaInput[]) =>
            xs.reduce<ReservationStatus>((s, x) => statusAfter(s, decide(s, x)), 'PENDING');
          expect(fold(withDupes)).toBe(fold(sequence));
        },
      ),
    );
  });
});

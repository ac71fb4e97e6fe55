import { randomUUID } from 'node:crypto';
import type { EventOf } from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { implausibility } from './plausibility.ts';

const reservation = { userId: 'u-1', showId: randomUUID(), ticketTypeId: randomUUID(), quantity: 2 };
const issued = (overrides: Partial<EventOf<'ticket.issued'>> = {}): EventOf<'ticket.issued'> => ({
  schemaVersion: 1,
  reservationId: randomUUID(),
  occurredAt: new Date().toISOString(),
  ...reservation,
  ticketIds: [randomUUID(), randomUUID()],
  ...overrides,
});

describe('implausibility', () => {
  it('accepts an event whose facts are the reservation’s', () => {
    expect(implausibility(reservation, issued())).toBeUndefined();
  });

  it.each([
    ['userId', { userId: 'u-2' }],
    ['showId', { showId: randomUUID() }],
    ['ticketTypeId', { ticketTypeId: randomUUID() }],
    ['quantity', { quantity: 3 }],
  ] as const)('refuses an event with another %s', (fact, overrides) => {
    expect(implausibility(reservation, issued(overrides))).toContain(fact);
  });

  it('refuses tickets that do not match the seats, one per seat', () => {
    const one = randomUUID();
    expect(implausibility(reservation, issued({ ticketIds: [one] }))).toBe('1 distinct tickets for 2 seats');
    expect(implausibility(reservation, issued({ ticketIds: [one, one] }))).toBe(
      '1 distinct tickets for 2 seats',
    );
  });

  it('checks a payment.completed’s booking facts too', () => {
    const completed: EventOf<'payment.completed'> = {
      schemaVersion: 1,
      reservationId: randomUUID(),
      occurredAt: new Date().toISOString(),
      ...reservation,
      paymentId: randomUUID(),
      amountMinor: 5000,
      currency: 'EUR',
    };
    expect(implausibility(reservation, completed)).toBeUndefined();
    expect(implausibility(reservation, { ...completed, userId: 'someone-else' })).toContain('userId');
  });
});

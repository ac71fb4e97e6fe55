import { describe, expect, it } from 'vitest';
import { currentStatus, holdExpiry, isSaleOpen, isWellFormed, quantityProblem } from './reservation.ts';

describe('currentStatus', () => {
  it('is the status of the latest transition, whatever the order rows come back in', () => {
    expect(
      currentStatus([
        { seq: 2, status: 'AWAITING_PAYMENT' },
        { seq: 3, status: 'CANCELLED' },
        { seq: 1, status: 'PENDING' },
      ]),
    ).toBe('CANCELLED');
    expect(currentStatus([])).toBe('PENDING');
  });
});

describe('isWellFormed', () => {
  it('accepts a history that starts PENDING and stops at its end', () => {
    expect(
      isWellFormed([
        { seq: 1, status: 'PENDING' },
        { seq: 2, status: 'AWAITING_TICKETS' },
        { seq: 3, status: 'CONFIRMED' },
      ]),
    ).toBe(true);
  });

  it('rejects a gap, a second start, or anything after an end', () => {
    expect(isWellFormed([{ seq: 2, status: 'PENDING' }])).toBe(false);
    expect(
      isWellFormed([
        { seq: 1, status: 'PENDING' },
        { seq: 2, status: 'PENDING' },
      ]),
    ).toBe(false);
    expect(
      isWellFormed([
        { seq: 1, status: 'PENDING' },
        { seq: 2, status: 'CANCELLED' },
        { seq: 3, status: 'CONFIRMED' },
      ]),
    ).toBe(false);
  });
});

describe('quantityProblem', () => {
  it.each([
    [0, 'must be a whole number of at least 1'],
    [-1, 'must be a whole number of at least 1'],
    [1.5, 'must be a whole number of at least 1'],
    [5, 'must be at most 4 for this ticket type'],
  ])('%d', (quantity, problem) => {
    expect(quantityProblem(quantity, 4)).toBe(problem);
  });

  it('accepts 1 up to the limit', () => {
    expect(quantityProblem(1, 4)).toBeUndefined();
    expect(quantityProblem(4, 4)).toBeUndefined();
  });
});

it('a hold expires HOLD_TTL after the reservation was made', () => {
  expect(holdExpiry(new Date('2026-11-21T10:00:00Z'), 90).toISOString()).toBe('2026-11-21T10:01:30.000Z');
});

it('a sale is open from its start, up to but not including its end', () => {
  const window = {
    saleStartsAt: new Date('2026-11-21T10:00:00Z'),
    saleEndsAt: new Date('2026-11-21T11:00:00Z'),
  };
  expect(isSaleOpen(window, new Date('2026-11-21T09:59:59Z'))).toBe(false);
  expect(isSaleOpen(window, new Date('2026-11-21T10:00:00Z'))).toBe(true);
  expect(isSaleOpen(window, new Date('2026-11-21T11:00:00Z'))).toBe(false);
  expect(isSaleOpen({ ...window, saleEndsAt: null }, new Date('2030-01-01T00:00:00Z'))).toBe(true);
});

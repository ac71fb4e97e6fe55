import { describe, expect, it } from 'vitest';
import {
  onPaymentCompleted,
  parseLockedShows,
  scanRefusal,
  type TicketId,
  ticketsToVoid,
} from './issuing.ts';

const order = { quantity: 3, showLockedForIssuing: false };

describe('onPaymentCompleted', () => {
  it('issues one ticket per seat', () => {
    expect(onPaymentCompleted({ cancelled: false, issuance: undefined }, order)).toEqual({
      action: 'issue',
      seats: 3,
    });
  });

  it('issues nothing after a cancel (tombstone)', () => {
    expect(onPaymentCompleted({ cancelled: true, issuance: undefined }, order)).toEqual({
      action: 'skip',
      why: 'cancelled-before-issue',
    });
  });

  it('issues at most once, whatever came before', () => {
    expect(onPaymentCompleted({ cancelled: false, issuance: 'issued' }, order)).toMatchObject({
      why: 'already-issued',
    });
    expect(onPaymentCompleted({ cancelled: true, issuance: 'issued' }, order)).toMatchObject({
      why: 'already-issued',
    });
    expect(onPaymentCompleted({ cancelled: false, issuance: 'failed' }, order)).toMatchObject({
      why: 'already-refused',
    });
  });

  it('refuses a show locked for issuing', () => {
    expect(
      onPaymentCompleted({ cancelled: false, issuance: undefined }, { ...order, showLockedForIssuing: true }),
    ).toEqual({ action: 'refuse', reason: 'SHOW_LOCKED_FOR_ISSUING' });
  });
});

describe('ticketsToVoid', () => {
  it('voids every ticket not voided yet', () => {
    const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}` as TicketId;
    expect(
      ticketsToVoid([
        { id: id(1), status: 'valid' },
        { id: id(2), status: 'admitted' },
        { id: id(3), status: 'voided' },
      ]),
    ).toEqual([id(1), id(2)]);
  });
});

describe('scanRefusal', () => {
  const door = { showId: 'show-1' };

  it('names why a scan was refused', () => {
    expect(scanRefusal(undefined, door)).toMatchObject({ status: 404, problem: 'ticket-not-found' });
    expect(scanRefusal({ status: 'voided', admittedAt: null, showId: 'show-1' }, door)).toMatchObject({
      status: 409,
      problem: 'ticket-voided',
    });
    const admittedAt = new Date('2026-01-01T20:00:00Z');
    expect(scanRefusal({ status: 'admitted', admittedAt, showId: 'show-1' }, door)).toMatchObject({
      status: 409,
      problem: 'ticket-already-admitted',
      detail: expect.stringContaining('2026-01-01T20:00:00.000Z'),
    });
  });

  it('refuses a ticket of another show first, whatever its status', () => {
    for (const status of ['valid', 'admitted', 'voided'] as const) {
      expect(scanRefusal({ status, admittedAt: null, showId: 'show-2' }, door)).toMatchObject({
        status: 409,
        problem: 'ticket-wrong-show',
      });
    }
  });
});

describe('parseLockedShows', () => {
  it('reads a comma list and ignores blanks', () => {
    expect([...parseLockedShows(' a, b ,,c ')]).toEqual(['a', 'b', 'c']);
    expect(parseLockedShows(undefined).size).toBe(0);
  });
});

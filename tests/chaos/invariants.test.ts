import { describe, expect, it } from 'vitest';
import type { Books, ReservationRow } from './books.ts';
import { accountDeadLetters, checkInvariants } from './invariants.ts';

const TYPE = 'type-a';

function reservation(id: string, status: string, reason: string | null = null, quantity = 1): ReservationRow {
  return {
    id,
    userId: `user-${id}`,
    ticketTypeId: TYPE,
    quantity,
    createdAt: 1000,
    status,
    reason,
    endedAt: status === 'PENDING' ? null : 2000,
    transitions: [],
  };
}

/** A sale of 3 tickets: r1 confirmed (2 tickets), r2 sold out, r3 cancelled by its user after paying (refunded). */
function consistentBooks(): Books {
  return {
    reservations: [
      reservation('r1', 'CONFIRMED', null, 2),
      reservation('r2', 'CANCELLED', 'SOLD_OUT'),
      reservation('r3', 'CANCELLED', 'USER_CANCELLED'),
    ],
    stock: [{ ticketTypeId: TYPE, capacity: 3, available: 1, held: 0, sold: 2 }],
    holds: [],
    payments: [
      {
        reservationId: 'r1',
        userId: 'user-r1',
        ticketTypeId: TYPE,
        quantity: 2,
        amountMinor: 9000,
        status: 'captured',
      },
      {
        reservationId: 'r3',
        userId: 'user-r3',
        ticketTypeId: TYPE,
        quantity: 1,
        amountMinor: 4500,
        status: 'refunded',
      },
    ],
    refunds: [{ reservationId: 'r3', amountMinor: 4500 }],
    tickets: [
      { id: 't1', reservationId: 'r1', ticketTypeId: TYPE, status: 'valid' },
      { id: 't2', reservationId: 'r1', ticketTypeId: TYPE, status: 'valid' },
      { id: 't3', reservationId: 'r3', ticketTypeId: TYPE, status: 'voided' },
    ],
    charges: [
      { id: 'c1', reference: 'r1', amountMinor: 9000, status: 'captured', refundedMinor: 0 },
      { id: 'c3', reference: 'r3', amountMinor: 4500, status: 'captured', refundedMinor: 4500 },
      { id: 'c4', reference: 'r2', amountMinor: 4500, status: 'declined', refundedMinor: 0 },
    ],
    details: [
      { reservationId: 'r1', status: 'CONFIRMED', ticketIds: ['t2', 't1'], traceId: 'a'.repeat(32) },
      { reservationId: 'r2', status: 'CANCELLED', ticketIds: [], traceId: null },
      { reservationId: 'r3', status: 'CANCELLED', ticketIds: [], traceId: null },
    ],
    deadLetters: [],
    refusals: [],
  };
}

const broken = (books: Books) => checkInvariants(books).filter((c) => !c.ok);

describe('chaos invariants', () => {
  it('hold on consistent books', () => {
    expect(broken(consistentBooks())).toEqual([]);
  });

  it('a reservation left open, or cancelled without a reason, breaks "every reservation ended"', () => {
    const books = consistentBooks();
    books.reservations.push(reservation('r4', 'AWAITING_PAYMENT'));
    books.details.push({ reservationId: 'r4', status: 'PENDING', ticketIds: [], traceId: null });
    books.reservations[1]!.reason = null;
    const names = broken(books).map((c) => c.name);
    expect(names).toContain('every reservation ended: CONFIRMED, or CANCELLED with a reason');
    expect(broken(books)[0]!.detail).toMatch(/r4 AWAITING_PAYMENT/);
  });

  it('stock that does not add up, or is left held, is found', () => {
    const books = consistentBooks();
    books.stock[0] = { ticketTypeId: TYPE, capacity: 3, available: 0, held: 1, sold: 2 };
    expect(broken(books).map((c) => c.name)).toEqual([
      'per ticket type: capacity = available + held + sold, nothing left held',
    ]);
  });

  it('a valid ticket for a cancelled reservation breaks sold = valid and the ticket rule', () => {
    const books = consistentBooks();
    books.tickets[2]!.status = 'valid';
    expect(broken(books).map((c) => c.name)).toEqual([
      'per ticket type: sold = valid tickets = captured payments − refunds',
      'no valid ticket for a cancelled reservation; each confirmed one has its tickets',
    ]);
  });

  it('a second capture on the provider’s ledger is a user charged twice', () => {
    const books = consistentBooks();
    books.charges.push({
      id: 'c5',
      reference: 'r1',
      amountMinor: 9000,
      status: 'captured',
      refundedMinor: 0,
    });
    const names = broken(books).map((c) => c.name);
    expect(names).toContain('no user charged twice for one reservation (card provider’s ledger)');
    expect(names).toContain(
      'money: the provider holds exactly the confirmed reservations’ amounts, the rest refunded or never charged',
    );
  });

  it('a refund the provider never made is money kept for a cancelled reservation', () => {
    const books = consistentBooks();
    books.charges[1]!.refundedMinor = 0;
    expect(broken(books).map((c) => c.name)).toEqual([
      'money: the provider holds exactly the confirmed reservations’ amounts, the rest refunded or never charged',
    ]);
  });

  it('a read model that disagrees with the owner is found', () => {
    const books = consistentBooks();
    books.details[1]!.status = 'PENDING';
    books.details.pop();
    const failed = broken(books);
    expect(failed.map((c) => c.name)).toEqual(['the read model agrees with the owners (status, tickets)']);
    expect(failed[0]!.detail).toMatch(/r2: read model PENDING, owner CANCELLED/);
    expect(failed[0]!.detail).toMatch(/r3 missing from the read model/);
  });

  it('every dead letter is listed with its reason; an unexpected one fails the run', () => {
    const books = consistentBooks();
    books.deadLetters = [
      { id: 'd1', cloudEventId: 'e1', topic: 'stock.reserved', reservationId: 'r1', receivedAt: 1 },
      { id: 'd2', cloudEventId: 'e2', topic: 'payment.completed', reservationId: 'r2', receivedAt: 2 },
    ];
    books.refusals = [
      { consumer: 'payment', eventId: 'e1', topic: 'stock.reserved', reason: 'bad signature' },
    ];
    const letters = accountDeadLetters(books, [/bad signature/]);
    expect(letters.map((l) => [l.cloudEventId, l.reason, l.expected])).toEqual([
      ['e1', 'payment: bad signature', true],
      ['e2', 'no consumer refused it: delivery retries ran out', false],
    ]);
    expect(
      checkInvariants(books, [/bad signature/]).find((c) => c.name === 'every dead letter accounted for')?.ok,
    ).toBe(false);
    books.deadLetters.pop();
    expect(checkInvariants(books, [/bad signature/]).every((c) => c.ok)).toBe(true);
  });
});

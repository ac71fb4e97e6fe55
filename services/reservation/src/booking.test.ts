// Placing a reservation with a waiting-room pass: the pass goes into the reservation's own
// transaction (the database side is in saga.int.test.ts), and what that transaction answers is what
// the request is told. The pass and its verification are the real ones; the database is a stand-in.

import { passKey } from '@reservex/contracts';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type BookingOptions, createBooking, type ReservationRequest } from './booking.ts';
import type { CreateOutcome, ReservationDatabase } from './db/reservations.ts';

const key = passKey('booking-test-pass-secret-0123456789abcdef');
const userId = '6f9d8a3e-1c2b-4d5e-8f70-9a1b2c3d4e5f';
const showId = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const ticketTypeId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

async function pass(jti: string) {
  return new SignJWT({ typ: 'pass', show: showId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

/**
 * A database whose reservation transaction answers `outcome`, and in which the pass bought
 * `bought` (nothing when omitted). `reads` counts the statements run outside the transaction.
 */
function booking(outcome: () => Promise<CreateOutcome>, bought?: Record<string, unknown>) {
  let reads = 0;
  const select = () => {
    reads++;
    return {
      from: () => ({
        where: () => ({
          limit: async () => (bought ? [{ reservationId: bought.id }] : []),
          orderBy: async () => [],
          // biome-ignore lint/suspicious/noThenProperty: drizzle's query builders are thenables
          then: (resolve: (rows: unknown[]) => unknown) => resolve(bought ? [bought] : []),
        }),
      }),
    };
  };
  const transaction = async () => outcome();
  const options: BookingOptions = {
    db: { select, transaction } as unknown as ReservationDatabase,
    catalogue: {
      lookup: async () => ({
        kind: 'found' as const,
        terms: { perOrderLimit: 4, perUserLimit: 4, saleStartsAt: new Date(0), saleEndsAt: null },
      }),
    },
    passKey: key,
    holdTtlSeconds: 600,
  };
  return { place: createBooking(options).place, reads: () => reads };
}

const request = async (jti: string): Promise<ReservationRequest> => ({
  userId,
  showId,
  ticketTypeId,
  quantity: 1,
  paymentMethod: { token: 'tok_success' },
  passToken: await pass(jti),
});

describe('placing a reservation with a pass', () => {
  it('answers the reservation its transaction wrote', async () => {
    const reservation = { id: 'r-1' };
    const written = booking(async () => ({ kind: 'created', reservation }) as unknown as CreateOutcome);
    expect(await written.place(await request('pass-1'))).toEqual({ ok: true, reservation });
    // Every check is the transaction's: nothing is read before it.
    expect(written.reads()).toBe(0);
  });

  it('is refused as pass-spent when the transaction found the pass already spent', async () => {
    const spent = booking(async () => ({ kind: 'pass-spent' }));
    expect(await spent.place(await request('pass-2'))).toMatchObject({
      ok: false,
      refusal: { status: 403, type: 'pass-spent' },
    });
  });

  it('is refused as reservation-open when a concurrent reservation won the insert', async () => {
    const lost = booking(async () => ({ kind: 'already-open' }));
    expect(await lost.place(await request('pass-3'))).toMatchObject({
      ok: false,
      refusal: { status: 409, type: 'reservation-open' },
    });
  });

  it('answers a refused request with the reservation its pass bought when it asks for the same', async () => {
    const bought = { id: 'r-9', userId, showId, ticketTypeId, quantity: 1 };
    const replay = booking(async () => ({ kind: 'already-open' }), bought);
    expect(await replay.place(await request('pass-5'))).toMatchObject({
      ok: true,
      replayed: true,
      reservation: { id: 'r-9' },
    });
    const other = booking(async () => ({ kind: 'pass-spent' }), { ...bought, quantity: 2 });
    expect(await other.place(await request('pass-6'))).toMatchObject({
      ok: false,
      refusal: { status: 403, type: 'pass-spent' },
    });
  });

  it('fails as the transaction failed, with nothing of its own to undo', async () => {
    const failing = booking(async () => {
      throw new Error('connection terminated unexpectedly');
    });
    await expect(failing.place(await request('pass-4'))).rejects.toThrow(/connection terminated/);
  });
});

// The pass a failed booking spent comes back. The database failure is simulated (it cannot be
// provoked on demand from a real Postgres); the pass, its verification and the state semantics
// (first write wins, a conflict is StateConflictError) are the real ones.

import { passKey } from '@reservex/contracts';
import { DaprError, StateConflictError } from '@reservex/platform/dapr';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type BookingOptions, createBooking, type ReservationRequest } from './booking.ts';
import type { ReservationDatabase } from './db/reservations.ts';

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

/** Dapr state with the store's semantics: a first write of a taken key conflicts. */
function stateStore() {
  const keys = new Map<string, unknown>();
  return {
    keys,
    state: {
      async save(store: string, stateKey: string, value: unknown, options: { firstWrite?: boolean } = {}) {
        if (options.firstWrite && keys.has(stateKey)) {
          throw new StateConflictError(store, stateKey, new DaprError('state.save', 'etag mismatch'));
        }
        keys.set(stateKey, value);
      },
      async delete(_store: string, stateKey: string) {
        keys.delete(stateKey);
      },
    },
  };
}

function booking(db: Partial<Record<'select' | 'transaction', unknown>>, dapr = stateStore()) {
  // No open reservation (`.limit()`), and no tickets held yet (the per-user count, awaited directly).
  const noOpenReservation = () => ({
    from: () => ({ where: () => Object.assign(Promise.resolve([{ held: '0' }]), { limit: async () => [] }) }),
  });
  const options: BookingOptions = {
    db: { select: noOpenReservation, ...db } as unknown as ReservationDatabase,
    dapr: dapr as unknown as BookingOptions['dapr'],
    catalogue: {
      lookup: async () => ({
        kind: 'found' as const,
        terms: { perOrderLimit: 4, perUserLimit: 4, saleStartsAt: new Date(0), saleEndsAt: null },
      }),
    },
    stateStore: 'statestore',
    passKey: key,
    holdTtlSeconds: 600,
  };
  return { place: createBooking(options).place, dapr };
}

const request = async (jti: string): Promise<ReservationRequest> => ({
  userId,
  showId,
  ticketTypeId,
  quantity: 1,
  paymentMethod: { token: 'tok_success' },
  passToken: await pass(jti),
});

describe('placing a reservation', () => {
  it('gives the pass back when the reservation cannot be written, so the next attempt can use it', async () => {
    const failing = booking({
      transaction: async () => {
        throw new Error('connection terminated unexpectedly');
      },
    });
    const attempt = await request('pass-1');
    await expect(failing.place(attempt)).rejects.toThrow(/connection terminated/);
    expect(failing.dapr.keys.has('pass:pass-1')).toBe(false);
    // The same pass is accepted again (it was not left spent).
    await expect(failing.place(attempt)).rejects.toThrow(/connection terminated/);
  });

  it('gives the pass back when a concurrent reservation won the insert', async () => {
    const lost = booking({ transaction: async () => ({ kind: 'already-open' }) });
    const outcome = await lost.place(await request('pass-2'));
    expect(outcome).toMatchObject({ ok: false, refusal: { status: 409, type: 'reservation-open' } });
    expect(lost.dapr.keys.has('pass:pass-2')).toBe(false);
  });

  it('keeps a pass spent once its reservation is written', async () => {
    const reservation = { id: 'r-1' };
    const written = booking({ transaction: async () => ({ kind: 'created', reservation }) });
    expect(await written.place(await request('pass-3'))).toEqual({ ok: true, reservation });
    expect(written.dapr.keys.has('pass:pass-3')).toBe(true);
    expect(await written.place(await request('pass-3'))).toMatchObject({
      ok: false,
      refusal: { status: 403, type: 'pass-spent' },
    });
  });
});

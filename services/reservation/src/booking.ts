// Placing a reservation: every check a request must pass before the saga starts, in the order that
// wastes nothing, without a sidecar call of its own: the one open reservation per user and show is
// the database's unique index, and the waiting-room pass is spent in the transaction that writes the
// reservation it buys (its `jti` is a key), so a request refused for its quantity, because another
// reservation is open, or because it failed or crashed before committing, keeps the user's pass. A
// pass presented again with the request that spent it is answered with the reservation it bought:
// a buyer whose first reply was lost (a crash after the commit) learns that their booking exists.
import { type PassKey, type PaymentMethod, verifyPass } from '@reservex/contracts';
import { currentTraceContext, logger } from '@reservex/platform/telemetry';
import type { Catalogue } from './catalogue.ts';
import {
  createReservation,
  type ReservationDatabase,
  type ReservationWithHistory,
  reservationBoughtWith,
} from './db/reservations.ts';
import { holdExpiry, isSaleOpen, quantityProblem } from './domain/reservation.ts';

export type ReservationRequest = {
  userId: string;
  showId: string;
  ticketTypeId: string;
  quantity: number;
  paymentMethod: PaymentMethod;
  passToken: string | undefined;
};

/** Why a request was refused before its saga started; the HTTP layer answers it as a problem. */
export type Refusal = {
  status: 403 | 404 | 409 | 422;
  /** The problem type's slug. */
  type: string;
  detail: string;
  /** Members the problem carries besides the standard ones. */
  extra?: Record<string, unknown>;
};

export type Placement =
  /** `replayed`: the reservation this request's pass bought earlier, not a new one. */
  { ok: true; reservation: ReservationWithHistory; replayed?: true } | { ok: false; refusal: Refusal };

const refuse = (
  status: Refusal['status'],
  type: string,
  detail: string,
  extra?: Record<string, unknown>,
) => ({
  ok: false as const,
  refusal: { status, type, detail, ...(extra ? { extra } : {}) },
});

export type BookingOptions = {
  db: ReservationDatabase;
  catalogue: Catalogue;
  /** When undefined, no pass is needed (a deployment without the waiting room, or saga-only tests). */
  passKey: PassKey | undefined;
  holdTtlSeconds: number;
  now?: () => Date;
};

export function createBooking(options: BookingOptions) {
  const { db, catalogue } = options;
  const now = options.now ?? (() => new Date());

  async function place(request: ReservationRequest): Promise<Placement> {
    const at = now();
    const checked = options.passKey ? await checkPass(request, options.passKey, at) : undefined;
    if (checked && !checked.ok) return checked;
    const pass = checked?.pass;
    const placed = await placeOnce(request, at, pass?.jti);
    if (placed.ok || !pass) return placed;
    // Refused: if this pass bought a reservation already, the same request is answered with it (its
    // first reply was lost) and another is told the pass is spent. Looked up only on this path: a
    // request that places its reservation has proved its pass unspent in the same transaction.
    const bought = await reservationBoughtWith(db, pass.jti);
    if (!bought) return placed;
    return sameRequest(bought, request)
      ? { ok: true, reservation: bought, replayed: true }
      : refuse(403, 'pass-spent', 'this pass has already been used');
  }

  async function placeOnce(request: ReservationRequest, at: Date, passJti: string | undefined) {
    const found = await catalogue.lookup(request.showId, request.ticketTypeId);
    if (found.kind === 'no-show') return refuse(404, 'not-found', `no show ${request.showId}`);
    if (found.kind === 'no-ticket-type') {
      return refuse(404, 'not-found', `no ticket type ${request.ticketTypeId} in show ${request.showId}`);
    }
    const quantityIssue = quantityProblem(request.quantity, found.terms.perOrderLimit);
    if (quantityIssue) {
      return refuse(422, 'validation-failed', `invalid body: quantity`, {
        in: 'body',
        errors: [{ path: 'quantity', message: quantityIssue }],
      });
    }
    if (!isSaleOpen(found.terms, at))
      return refuse(409, 'sale-closed', 'this ticket type is not on sale now');
    // The rest is decided by the transaction that writes the reservation, in its own round trips: the
    // one open reservation per user and show (a partial unique index: a concurrent request of the
    // same user and show waits on it, then conflicts), the per-user limit (counted after the insert)
    // and the pass (its key). A refusal writes nothing, so the pass stays unspent.
    const limit = found.terms.perUserLimit;
    const created = await createReservation(db, {
      id: crypto.randomUUID(),
      userId: request.userId,
      showId: request.showId,
      ticketTypeId: request.ticketTypeId,
      quantity: request.quantity,
      paymentMethod: request.paymentMethod,
      holdExpiresAt: holdExpiry(at, options.holdTtlSeconds),
      traceparent: currentTraceContext()?.traceparent,
      now: at,
      perUserLimit: limit,
      ...(passJti === undefined ? {} : { passJti }),
    });
    switch (created.kind) {
      case 'created':
        logger.info({ reservation_id: created.reservation.id }, 'reservation placed');
        return { ok: true as const, reservation: created.reservation };
      case 'over-user-limit':
        return refuse(
          409,
          'per-user-limit',
          `you may hold at most ${limit} tickets of this type; you hold ${created.held}, so at most ${Math.max(0, limit - created.held)} more`,
          { perUserLimit: limit, held: created.held },
        );
      case 'pass-spent':
        return refuse(403, 'pass-spent', 'this pass has already been used');
      case 'already-open':
        return refuse(
          409,
          'reservation-open',
          'you already have a reservation for this show that has not ended',
        );
    }
  }

  async function checkPass(request: ReservationRequest, key: PassKey, at: Date) {
    if (!request.passToken)
      return refuse(403, 'pass-required', 'a pass from the waiting room is required (X-Pass-Token)');
    const verdict = await verifyPass(
      request.passToken,
      key,
      { userId: request.userId, showId: request.showId },
      at,
    );
    if (!verdict.ok)
      return refuse(403, 'pass-invalid', `the pass is not valid for this request (${verdict.why})`);
    return { ok: true as const, pass: verdict.pass };
  }

  return { place };
}

/** Whether a reservation is what this request asks for (the pass names the user and the show). */
function sameRequest(reservation: ReservationWithHistory, request: ReservationRequest): boolean {
  return (
    reservation.userId === request.userId &&
    reservation.showId === request.showId &&
    reservation.ticketTypeId === request.ticketTypeId &&
    reservation.quantity === request.quantity
  );
}

export type Booking = ReturnType<typeof createBooking>;

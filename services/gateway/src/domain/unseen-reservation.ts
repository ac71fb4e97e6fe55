// A user's own reservation that the read model (query) has not seen yet. The booking POST answers
// before the saga's first event reaches query, so asking for it at once would be a 404. Services do
// not pass a user's identity on to each other, so the gateway, which holds it, asks the owner of the
// reservation (the reservation service) for it and answers in the read model's shape, with the
// status the owner knows and an empty timeline.
import { z } from 'zod';
import type { HttpMethod } from './routes.ts';

/** The public route answered this way, and where the gateway asks when query does not know it. */
export const readModelFallback = {
  method: 'GET' satisfies HttpMethod,
  path: '/api/v1/reservations/{id}',
  owner: 'reservation',
} as const;

// What the reservation service answers for `GET /v1/reservations/{id}` (its OpenAPI `Reservation`),
// as far as the read model's shape needs it.
const OwnersView = z.object({
  id: z.uuid(),
  userId: z.string(),
  showId: z.uuid(),
  ticketTypeId: z.uuid(),
  quantity: z.number().int(),
  createdAt: z.string(),
  holdExpiresAt: z.string(),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
  reason: z.string().nullable(),
  failedStep: z.string().nullable(),
  traceId: z.string().nullable(),
  transitions: z.array(z.object({ at: z.string(), detail: z.string().nullable() })).min(1),
});

/** The read model's `ReservationDetails` for a reservation it has not seen, or undefined if the body is not one. */
export function detailsOfUnseen(body: unknown): Record<string, unknown> | undefined {
  const parsed = OwnersView.safeParse(body);
  if (!parsed.success) return undefined;
  const r = parsed.data;
  const last = r.transitions.at(-1);
  return {
    reservationId: r.id,
    status: r.status,
    userId: r.userId,
    showId: r.showId,
    ticketTypeId: r.ticketTypeId,
    quantity: r.quantity,
    unitPriceMinor: null,
    amountMinor: null,
    currency: null,
    holdExpiresAt: r.holdExpiresAt,
    stock: null,
    payment: null,
    tickets: null,
    failure:
      r.status === 'CANCELLED' && r.reason && r.failedStep
        ? { reason: r.reason, step: r.failedStep, detail: last?.detail ?? null }
        : null,
    traceId: r.traceId,
    createdAt: r.createdAt,
    updatedAt: last?.at ?? r.createdAt,
    timeline: [],
  };
}

// Reservation's HTTP API: place a reservation (starting the saga), read one, cancel one. The caller
// is the user in `x-user-id`, which only the gateway sets (it strips any a client sends); a user
// sees and cancels only their own reservations, and anyone else's answer 404.
import { createRoute, z } from '@hono/zod-openapi';
import { PaymentMethod, text } from '@reservex/contracts';
import { DaprError } from '@reservex/platform/dapr';
import type { Executor } from '@reservex/platform/db';
import { type AppOptions, callerOf, createApp, problem, problemResponses } from '@reservex/platform/http';
import { sagaAttributes, traceIdOf, withSpan } from '@reservex/platform/telemetry';
import { createSelectSchema } from 'drizzle-zod';
import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import type { Booking, Placement } from './booking.ts';
import {
  advanceSaga,
  findReservation,
  type ReservationDatabase,
  type ReservationWithHistory,
} from './db/reservations.ts';
import { reservations, reservationTransitions } from './db/schema.ts';
import { fingerprint, type Idempotency } from './idempotency.ts';

const instant = z.iso.datetime({ offset: true });

const ReservationInput = createSelectSchema(reservations, {
  showId: (s) => s.openapi({ example: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10' }),
  ticketTypeId: (s) => s.openapi({ example: '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a' }),
  // The upper bound is the ticket type's per-order limit, checked against the catalogue.
  quantity: () => z.number().int().min(1).max(1000).openapi({ example: 2 }),
})
  .pick({ showId: true, ticketTypeId: true, quantity: true })
  // Rebuilt from the contract's shape: schemas made before @hono/zod-openapi loaded lack .openapi().
  .extend({ paymentMethod: z.object(PaymentMethod.shape).openapi({ example: { token: 'tok_success' } }) })
  .strict()
  .openapi('ReservationInput');

const TransitionView = createSelectSchema(reservationTransitions, { at: () => instant })
  .pick({ seq: true, status: true, reason: true, failedStep: true, detail: true, cause: true, at: true })
  .openapi('Transition');

const ReservationView = createSelectSchema(reservations, {
  createdAt: () => instant,
  holdExpiresAt: () => instant,
})
  .pick({
    id: true,
    userId: true,
    showId: true,
    ticketTypeId: true,
    quantity: true,
    createdAt: true,
    holdExpiresAt: true,
  })
  .extend({
    status: TransitionView.shape.status,
    /** Why and where it failed, once cancelled. */
    reason: TransitionView.shape.reason,
    failedStep: TransitionView.shape.failedStep,
    traceId: z.string().nullable().openapi({ description: 'The saga trace, to open in Jaeger' }),
    transitions: z.array(TransitionView),
  })
  .openapi('Reservation');

const ReservationIdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const CreateHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .openapi({ description: 'Same key and same body → same reply; same key, other body → 422' }),
  'x-pass-token': text({ max: 4096 }).optional().openapi({ description: 'The pass the waiting room issued' }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

type View = z.infer<typeof ReservationView>;

export function reservationView(r: ReservationWithHistory): View {
  const last = r.transitions.at(-1);
  return {
    id: r.id,
    userId: r.userId,
    showId: r.showId,
    ticketTypeId: r.ticketTypeId,
    quantity: r.quantity,
    createdAt: r.createdAt.toISOString(),
    holdExpiresAt: r.holdExpiresAt.toISOString(),
    status: r.status,
    reason: r.status === 'CANCELLED' ? (last?.reason ?? null) : null,
    failedStep: r.status === 'CANCELLED' ? (last?.failedStep ?? null) : null,
    traceId: traceIdOf(r.traceparent) ?? null,
    transitions: r.transitions.map((t) => ({ ...t, at: t.at.toISOString() })),
  };
}

/** The authenticated user, as the gateway named them. */
function userOf(c: Context): string {
  return callerOf(c).userId;
}

async function ownReservation(db: Executor, id: string, userId: string): Promise<ReservationWithHistory> {
  const found = await findReservation(db, id);
  // Someone else's reservation is indistinguishable from a missing one.
  if (!found || found.userId !== userId) problem(404, 'not-found', `no reservation ${id}`);
  return found;
}

/** A sidecar that does not answer is our problem, not the client's: 503, and they may retry. */
async function unlessDaprFails<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DaprError) {
      problem(503, 'service-unavailable', 'a dependency did not answer; try again', undefined, {
        cause: error,
      });
    }
    throw error;
  }
}

export type ReservationAppOptions = Pick<AppOptions, 'bodyLimitBytes' | 'readiness'> & {
  db: ReservationDatabase;
  booking: Booking;
  idempotency: Idempotency;
  now?: () => Date;
};

export function createReservationApp(options: ReservationAppOptions) {
  const { db, booking, idempotency } = options;
  const now = options.now ?? (() => new Date());
  const app = createApp<BlankEnv>({
    serviceName: 'reservation',
    description:
      'Places reservations and owns the booking saga. Callers are identified by `x-user-id`, set by the gateway only.',
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
  });

  return app
    .openapi(
      createRoute({
        method: 'post',
        path: '/v1/reservations',
        tags: ['reservations'],
        summary: 'Place a reservation: holds, charges and issues tickets asynchronously (the saga)',
        request: {
          headers: CreateHeaders,
          body: { required: true, content: { 'application/json': { schema: ReservationInput } } },
        },
        responses: {
          201: json(ReservationView, 'Placed; follow its status'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503),
        },
      }),
      async (c) => {
        const userId = userOf(c);
        const input = c.req.valid('json');
        const headers = c.req.valid('header');
        const key = headers['idempotency-key'];
        const print = fingerprint(input);
        return withSpan('reservation place', sagaAttributes({ step: 'reservation.place' }), async (span) => {
          const claim = await unlessDaprFails(() => idempotency.claim(userId, key, print));
          switch (claim.kind) {
            case 'replay':
              if (claim.reply.location) c.header('location', claim.reply.location);
              c.header('idempotent-replayed', 'true');
              return c.json(claim.reply.body as View, 201);
            case 'mismatch':
              return problem(
                422,
                'idempotency-key-reused',
                'this Idempotency-Key was used for a different request',
              );
            case 'in-progress':
              return problem(
                409,
                'request-in-progress',
                'a request with this Idempotency-Key is still being processed',
              );
            case 'claimed':
              break;
            default: {
              const unknown: never = claim;
              throw new Error(`unhandled claim ${JSON.stringify(unknown)}`);
            }
          }
          const release = () =>
            idempotency.release(userId, key).catch((releaseError: unknown) => {
              c.get('log').warn(
                { err: releaseError },
                'could not release an idempotency claim; it expires on its own',
              );
            });
          let placement: Placement;
          try {
            placement = await unlessDaprFails(() =>
              booking.place({ userId, ...input, passToken: headers['x-pass-token'] }),
            );
          } catch (error) {
            await release();
            throw error;
          }
          if (!placement.ok) {
            // A refused request may be retried with the same key once whatever refused it has changed.
            await release();
            const { status, type, detail, extra } = placement.refusal;
            return problem(status, type, detail, extra);
          }
          const placed = placement.reservation;
          span.setAttributes(sagaAttributes({ reservationId: placed.id }));
          const body = reservationView(placed);
          const location = `/v1/reservations/${placed.id}`;
          await idempotency
            .complete(userId, key, print, { status: 201, body, location })
            .catch((error: unknown) => {
              // The reservation exists; a retry with this key would now be refused as in flight rather
              // than replayed, which is safe.
              c.get('log').warn({ err: error }, 'could not store the idempotent reply');
            });
          c.header('location', location);
          if (placement.replayed) c.header('idempotent-replayed', 'true');
          return c.json(body, 201);
        });
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/v1/reservations/{id}',
        tags: ['reservations'],
        summary: 'One of your reservations, with its status and every transition',
        request: { params: ReservationIdParam },
        responses: { 200: json(ReservationView, 'The reservation'), ...problemResponses(401, 404, 422) },
      }),
      async (c) => {
        const userId = userOf(c);
        return c.json(reservationView(await ownReservation(db, c.req.valid('param').id, userId)), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/v1/reservations/{id}/cancel',
        tags: ['reservations'],
        summary: 'Cancel one of your reservations before it is confirmed; what was done is compensated',
        request: { params: ReservationIdParam },
        responses: {
          200: json(ReservationView, 'Cancelled (or already cancelled)'),
          ...problemResponses(401, 404, 409, 422),
        },
      }),
      async (c) => {
        const userId = userOf(c);
        const { id } = c.req.valid('param');
        await ownReservation(db, id, userId);
        const outcome = await withSpan(
          'reservation cancel',
          sagaAttributes({ step: 'reservation.cancel', reservationId: id }),
          () =>
            db.transaction((tx) => advanceSaga(tx, id, { type: 'user.cancelled' }, { cause: 'user' }, now())),
        );
        if (outcome.kind === 'applied' && outcome.from === 'CONFIRMED') {
          problem(409, 'already-confirmed', 'a confirmed reservation cannot be cancelled here');
        }
        return c.json(reservationView(await ownReservation(db, id, userId)), 200);
      },
    );
}

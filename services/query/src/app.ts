// The query service's HTTP API: my reservations (details, list, live status) and, for operators, the
// platform's dead letters.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRoute, z } from '@hono/zod-openapi';
import { text } from '@reservex/contracts';
import {
  callerOf,
  createApp,
  eventStreamContent,
  problem,
  problemResponses,
  type ReadinessCheck,
} from '@reservex/platform/http';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { BlankEnv } from 'hono/types';
import { type AskOwner, listDeadLetters, replayDeadLetter } from './db/dead-letters.ts';
import type { DetailsFeed } from './db/details-feed.ts';
import { decodeCursor, findDetails, listDetails, type QueryDb } from './db/read-model.ts';
import type { ReservationDetails as Details } from './domain/projection.ts';

const Money = { amountMinor: z.number().int(), currency: z.string() };

const TimelineEntry = z.object({
  eventId: z.string(),
  type: z.string().openapi({ example: 'stock.reserved' }),
  occurredAt: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});

const ReservationDetails = z
  .object({
    reservationId: z.uuid(),
    status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
    userId: z.string().nullable(),
    showId: z.uuid().nullable(),
    ticketTypeId: z.uuid().nullable(),
    quantity: z.number().int().nullable(),
    unitPriceMinor: z.number().int().nullable(),
    amountMinor: z.number().int().nullable(),
    currency: z.string().nullable(),
    holdExpiresAt: z.string().nullable(),
    stock: z
      .object({
        status: z.enum(['HELD', 'SOLD', 'RELEASED', 'FAILED']),
        failureReason: z.string().nullable(),
      })
      .nullable(),
    payment: z
      .object({
        status: z.enum(['CAPTURED', 'FAILED', 'REFUNDED']),
        paymentId: z.uuid().nullable(),
        ...Money,
        failureReason: z.string().nullable(),
      })
      .nullable(),
    tickets: z
      .object({
        status: z.enum(['ISSUED', 'VOIDED', 'FAILED']),
        ticketIds: z.array(z.uuid()),
        failureReason: z.string().nullable(),
      })
      .nullable(),
    failure: z.object({ reason: z.string(), step: z.string(), detail: z.string().nullable() }).nullable(),
    traceId: z.string().nullable().openapi({ description: 'The saga’s trace id: open it in Jaeger.' }),
    createdAt: z.string().nullable(),
    updatedAt: z.string(),
    timeline: z.array(TimelineEntry),
  })
  .openapi('ReservationDetails');

const ReservationSummary = ReservationDetails.omit({ timeline: true }).openapi('ReservationSummary');

const DeadLetter = z
  .object({
    id: z.uuid(),
    cloudEventId: z.string(),
    originalTopic: z.string().nullable(),
    source: z.string().nullable(),
    reservationId: z.string().nullable(),
    data: z.unknown(),
    receivedAt: z.iso.datetime(),
    replayCount: z.number().int(),
    lastReplayedAt: z.iso.datetime().nullable(),
    reason: z.string().nullable().openapi({
      description:
        'Why the read model refused the event when it was delivered (a missing or wrong signature, a broken contract); null when it did not refuse it.',
    }),
  })
  .openapi('DeadLetter');

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: text({ max: 200 }).optional().openapi({ description: 'The `nextCursor` of the previous page.' }),
});

const reservationParams = z.object({ reservationId: z.uuid() });

const getReservation = createRoute({
  method: 'get',
  path: '/v1/reservations/{reservationId}',
  tags: ['reservations'],
  summary: 'Details of one of my reservations, with its timeline and trace id',
  description:
    'Reads the caller from `x-user-id` (set by the gateway only). Another user’s reservation is 404. ' +
    'Right after the booking the read model may not have seen the reservation yet: then the gateway ' +
    'answers for its owner from the reservation service, with the status it knows there (PENDING ' +
    'until the saga has run), no stock, payment or tickets yet and an empty timeline. Ask again (or ' +
    'follow `/events`) until the status is CONFIRMED or CANCELLED.',
  request: { params: reservationParams },
  responses: {
    200: { description: 'The reservation', content: { 'application/json': { schema: ReservationDetails } } },
    ...problemResponses(401, 404, 422),
  },
});

const listReservations = createRoute({
  method: 'get',
  path: '/v1/reservations',
  tags: ['reservations'],
  summary: 'My reservations, newest first',
  request: { query: pageQuery },
  responses: {
    200: {
      description: 'A page of reservations',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(ReservationSummary), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...problemResponses(400, 401, 422),
  },
});

const watchReservation = createRoute({
  method: 'get',
  path: '/v1/reservations/{reservationId}/events',
  tags: ['reservations'],
  summary: 'Live status of one of my reservations (Server-Sent Events)',
  description:
    'Sends the current details as a `status` event, then one `status` event per change, and a comment every few seconds to keep the connection open.',
  request: { params: reservationParams },
  responses: {
    200: { description: 'An event stream', content: eventStreamContent() },
    ...problemResponses(401, 404, 422),
  },
});

const listDeadLettersRoute = createRoute({
  method: 'get',
  path: '/v1/admin/dead-letters',
  tags: ['admin'],
  summary: 'Events a consumer gave up on, newest first (ADMIN)',
  request: { query: pageQuery },
  responses: {
    200: {
      description: 'A page of dead letters',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(DeadLetter), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...problemResponses(400, 401, 403, 422),
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/v1/admin/dead-letters/{id}/replay',
  tags: ['admin'],
  summary: 'Publish a dead letter again to its original topic (ADMIN)',
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    202: {
      description: "Queued for publication again by the topic's owner (from its outbox)",
      content: {
        'application/json': {
          schema: z.object({
            id: z.uuid(),
            topic: z.string(),
            eventId: z.uuid(),
            replayCount: z.number().int(),
          }),
        },
      },
    },
    ...problemResponses(401, 403, 404, 409, 422),
  },
});

function requireAdmin(c: Context) {
  const caller = callerOf(c);
  if (!caller.roles.has('ADMIN')) problem(403, 'forbidden', 'requires the ADMIN role');
  return caller;
}

function cursorOf(text: string | undefined) {
  if (text === undefined) return undefined;
  const cursor = decodeCursor(text);
  if (!cursor) {
    problem(400, 'invalid-cursor', 'the cursor is not one this API issued: pass a nextCursor unchanged', {
      in: 'query',
      errors: [{ path: 'cursor', message: 'not a cursor this API issued' }],
    });
  }
  return cursor;
}

export type QueryAppOptions = {
  db: QueryDb;
  feed: DetailsFeed;
  bodyLimitBytes: number;
  readiness: Record<string, ReadinessCheck>;
  /** How long a live-status request waits for a reservation the read model has not seen yet. */
  appearWaitMs: number;
  /** Keep-alive comment interval of a live-status stream. */
  heartbeatMs: number;
  /** Upper bound of one live-status stream; the client reconnects after it. */
  streamMaxMs: number;
  /** Asks a topic's owner to publish one of its events again (dead-letter replay). */
  askOwner: AskOwner;
};

/** The app, typed with its routes (a typed test client reads them). */
export function createQueryApp(options: QueryAppOptions) {
  const { db, feed } = options;
  const app = createApp<BlankEnv>({
    serviceName: 'query',
    description:
      'Reservation details built from the saga’s events: status, steps, timeline, trace id; dead letters.',
    bodyLimitBytes: options.bodyLimitBytes,
    readiness: options.readiness,
  });

  return app
    .openapi(getReservation, async (c) => {
      const caller = callerOf(c);
      const { reservationId } = c.req.valid('param');
      const details = await findDetails(db, reservationId, caller.userId);
      if (!details) problem(404, 'not-found', `no reservation ${reservationId}`);
      return c.json(details, 200);
    })
    .openapi(listReservations, async (c) => {
      const caller = callerOf(c);
      const query = c.req.valid('query');
      const page = await listDetails(db, caller.userId, {
        limit: query.limit,
        after: cursorOf(query.cursor),
      });
      return c.json(
        {
          items: page.items.map(({ timeline: _timeline, ...summary }) => summary),
          nextCursor: page.nextCursor,
        },
        200,
      );
    })
    .openapi(watchReservation, async (c) => {
      const caller = callerOf(c);
      const { reservationId } = c.req.valid('param');
      // A client usually opens the stream right after booking, before the first event was projected.
      const deadline = Date.now() + options.appearWaitMs;
      let initial = await findDetails(db, reservationId, caller.userId);
      while (!initial && Date.now() < deadline) {
        await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
        initial = await findDetails(db, reservationId, caller.userId);
      }
      if (!initial) problem(404, 'not-found', `no reservation ${reservationId}`);

      return streamSSE(c, async (stream) => {
        let last = '';
        const send = async (details: Details) => {
          const data = JSON.stringify(details);
          if (data === last) return;
          last = data;
          await stream.writeSSE({ event: 'status', id: details.updatedAt, data });
        };
        // A change noticed while we are busy sending is kept in `dirty`, never lost.
        let dirty = false;
        let wake: (() => void) | undefined;
        const unwatch = feed.watch(reservationId, () => {
          dirty = true;
          wake?.();
        });
        stream.onAbort(() => wake?.());
        try {
          await send(initial);
          const until = Date.now() + options.streamMaxMs;
          while (!stream.aborted && Date.now() < until) {
            if (!dirty) {
              await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, Math.min(options.heartbeatMs, until - Date.now()));
                wake = () => {
                  clearTimeout(timer);
                  resolve();
                };
              });
              wake = undefined;
            }
            if (stream.aborted) break;
            if (dirty) {
              dirty = false;
              const details = await findDetails(db, reservationId, caller.userId);
              if (details) await send(details);
            } else {
              await stream.write(': keep-alive\n\n');
            }
          }
        } finally {
          unwatch();
        }
      }) as never;
    })
    .openapi(listDeadLettersRoute, async (c) => {
      requireAdmin(c);
      const query = c.req.valid('query');
      let after: { receivedAt: string; id: string } | undefined;
      if (query.cursor !== undefined) {
        const cursor = cursorOf(query.cursor);
        after = cursor ? { receivedAt: cursor.sortAt, id: cursor.reservationId } : undefined;
      }
      const page = await listDeadLetters(db, { limit: query.limit, after });
      return c.json(
        {
          items: page.items.map((letter) => ({
            id: letter.id,
            cloudEventId: letter.cloudEventId,
            originalTopic: letter.originalTopic,
            source: letter.source,
            reservationId: letter.reservationId,
            data: letter.data,
            receivedAt: letter.receivedAt.toISOString(),
            replayCount: letter.replayCount,
            lastReplayedAt: letter.lastReplayedAt?.toISOString() ?? null,
            reason: letter.reason,
          })),
          nextCursor: page.next
            ? Buffer.from(JSON.stringify([page.next.receivedAt, page.next.id])).toString('base64url')
            : null,
        },
        200,
      );
    })
    .openapi(replayRoute, async (c) => {
      requireAdmin(c);
      const { id } = c.req.valid('param');
      const result = await replayDeadLetter(db, id, options.askOwner);
      switch (result.outcome) {
        case 'not-found':
          return problem(404, 'not-found', `no dead letter ${id}`);
        case 'not-replayable':
          return problem(409, 'not-replayable', `dead letter ${id} cannot be replayed: ${result.reason}`);
        case 'replayed':
          return c.json(
            { id, topic: result.topic, eventId: result.eventId, replayCount: result.replayCount },
            202,
          );
        default:
          return result satisfies never;
      }
    });
}

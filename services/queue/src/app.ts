// Waiting-room routes, reached through the gateway (`/api/v1/queue/...`), which has verified the
// caller and set `x-user-id`. Join, read the position, or stream it until admission.
import { createRoute, z } from '@hono/zod-openapi';
import { signPass, USER_FACING_CALLER } from '@reservex/contracts';
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
import { type Standing, sameStanding } from './domain/admission.ts';
import { passClaimsOf } from './domain/pass-token.ts';
import type { ShowSales } from './shows/show-sales.ts';
import type { WaitingRoom } from './waiting-room/waiting-room.ts';

export interface QueueDeps {
  room: WaitingRoom;
  shows: ShowSales;
  passKey: Uint8Array;
  stream: { pollMs: number; heartbeatMs: number; maxDurationMs: number };
  /** The admission progress stream the gateway subscribes to once per show. */
  progress: { pollMs: number; admissionRatePerSecond: number };
  bodyLimitBytes?: number;
  readiness?: Record<string, ReadinessCheck>;
}

const ShowParams = z.object({
  showId: z
    .uuid('a show id (UUID)')
    .openapi({ param: { name: 'showId', in: 'path' }, example: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10' }),
});

const Waiting = z
  .object({
    status: z.literal('waiting'),
    position: z.number().int().positive().openapi({ description: '1 = next in line' }),
    number: z.number().int().positive().openapi({
      description: 'Arrival number: the position is this minus the show’s progress (`servedUpTo`).',
    }),
  })
  .openapi('Waiting');

const Admitted = z
  .object({
    status: z.literal('admitted'),
    passToken: z
      .string()
      .openapi({ description: 'Send as X-Pass-Token with POST /reservations; single use.' }),
    expiresAt: z.iso.datetime(),
    admittedAt: z.iso.datetime(),
    admissionNumber: z
      .number()
      .int()
      .positive()
      .openapi({ description: 'Order of admission within the show.' }),
  })
  .openapi('Admitted');

const Position = z.discriminatedUnion('status', [Waiting, Admitted]).openapi('QueuePosition');

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });

const joinRoute = createRoute({
  method: 'post',
  path: '/v1/queue/{showId}/join',
  tags: ['queue'],
  summary: "Join a show's waiting room (idempotent: joining again keeps the place)",
  description:
    'The show must exist (404) and one of its ticket types must be on sale now (409 `not-on-sale`).',
  request: { params: ShowParams },
  responses: {
    200: { description: 'Your place', ...json(Position) },
    ...problemResponses(401, 404, 409, 422, 503),
  },
});

const positionRoute = createRoute({
  method: 'get',
  path: '/v1/queue/{showId}/position',
  tags: ['queue'],
  summary: 'Your place in the waiting room, or your pass once admitted',
  request: { params: ShowParams },
  responses: { 200: { description: 'Your place', ...json(Position) }, ...problemResponses(401, 404, 422) },
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/queue/{showId}/events',
  tags: ['queue'],
  summary: 'Your place as server-sent events: `position` on each change, then `admitted` with the pass',
  request: { params: ShowParams },
  responses: {
    200: { description: 'An event stream', content: eventStreamContent() },
    ...problemResponses(401, 404, 422),
  },
});

function userOf(c: Context): string {
  return callerOf(c).userId;
}

const ProgressEvent = z
  .object({
    servedUpTo: z
      .number()
      .int()
      .nonnegative()
      .openapi({ description: 'Every arrival number up to this is admitted' }),
    waiting: z.number().int().nonnegative(),
    ratePerSecond: z.number().nonnegative().openapi({
      description: 'Admissions per second over the last seconds (the configured rate until measured)',
    }),
  })
  .openapi('AdmissionProgress');
export type ProgressEvent = z.infer<typeof ProgressEvent>;

const progressRoute = createRoute({
  method: 'get',
  path: '/v1/queue/{showId}/progress',
  tags: ['queue'],
  summary:
    'The show’s admission progress as server-sent events (`progress`, data AdmissionProgress): for the gateway, which holds one per show and computes its users’ positions from it',
  request: { params: ShowParams },
  responses: {
    200: { description: 'An event stream', content: eventStreamContent() },
    ...problemResponses(403, 422),
  },
});

/** How many samples of progress the measured rate looks back over. */
const RATE_WINDOW_MS = 10_000;

export function createQueueApp(deps: QueueDeps) {
  const app = createApp<BlankEnv>({
    serviceName: 'queue',
    description: 'The waiting room in front of each show.',
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  });

  async function view(userId: string, showId: string, standing: Standing): Promise<z.infer<typeof Position>> {
    switch (standing.status) {
      case 'waiting':
        return { status: 'waiting', position: standing.position, number: standing.number };
      case 'admitted': {
        const { admission } = standing;
        return {
          status: 'admitted',
          passToken: await signPass(passClaimsOf(userId, showId, admission), deps.passKey),
          expiresAt: new Date(admission.passExpiresAtMs).toISOString(),
          admittedAt: new Date(admission.admittedAtMs).toISOString(),
          admissionNumber: admission.number,
        };
      }
      case 'absent':
        return problem(
          404,
          'not-in-queue',
          'you are not in this waiting room (or your pass expired): join it',
        );
      default: {
        const unreachable: never = standing;
        throw new Error(`unknown standing ${JSON.stringify(unreachable)}`);
      }
    }
  }

  return app
    .openapi(joinRoute, async (c) => {
      const userId = userOf(c);
      const { showId } = c.req.valid('param');
      const sale = await deps.shows.saleOf(showId);
      switch (sale.kind) {
        case 'unknown':
          return problem(404, 'not-found', `no show ${showId}`);
        case 'not-on-sale':
          return problem(
            409,
            'not-on-sale',
            sale.opensAtMs === undefined
              ? 'this show is not on sale'
              : `this show is not on sale yet: the sale opens at ${new Date(sale.opensAtMs).toISOString()}`,
          );
        case 'on-sale':
          return c.json(await view(userId, showId, await deps.room.join(showId, userId, sale.endsAtMs)), 200);
        default: {
          const unreachable: never = sale;
          throw new Error(`unknown sale ${JSON.stringify(unreachable)}`);
        }
      }
    })
    .openapi(positionRoute, async (c) => {
      const userId = userOf(c);
      const { showId } = c.req.valid('param');
      return c.json(await view(userId, showId, await deps.room.standing(showId, userId)), 200);
    })
    .openapi(eventsRoute, async (c) => {
      const userId = userOf(c);
      const { showId } = c.req.valid('param');
      let last = await deps.room.standing(showId, userId);
      if (last.status === 'absent') await view(userId, showId, last);
      const { pollMs, heartbeatMs, maxDurationMs } = deps.stream;

      return streamSSE(
        c,
        async (stream) => {
          const endAt = Date.now() + maxDurationMs;
          let closed = false;
          stream.onAbort(() => {
            closed = true;
          });
          let lastSent: Standing | undefined;
          let lastWrite = Date.now();
          let id = 0;
          while (!closed && Date.now() < endAt) {
            if (!sameStanding(lastSent, last)) {
              if (last.status === 'absent') {
                await stream.writeSSE({
                  event: 'left',
                  data: JSON.stringify({ status: 'absent' }),
                  id: String(++id),
                });
                return;
              }
              const body = await view(userId, showId, last);
              await stream.writeSSE({
                event: body.status === 'admitted' ? 'admitted' : 'position',
                data: JSON.stringify(body),
                id: String(++id),
                // Proxies (the Dapr hop among them) may end a long stream: reconnect quickly.
                ...(id === 1 ? { retry: 1000 } : {}),
              });
              lastSent = last;
              lastWrite = Date.now();
              if (last.status === 'admitted') return;
            } else if (Date.now() - lastWrite >= heartbeatMs) {
              await stream.write(': keep-alive\n\n');
              lastWrite = Date.now();
            }
            await stream.sleep(pollMs);
            if (closed) return;
            last = await deps.room.standing(showId, userId);
          }
        },
        async (error, stream) => {
          await stream.writeSSE({
            event: 'error',
            data: JSON.stringify({ detail: 'the stream failed; reconnect' }),
          });
          throw error;
        },
      );
    })
    .openapi(progressRoute, async (c) => {
      // Only the gateway subscribes; the sidecar's access control already refuses other apps.
      const via = c.req.header('dapr-caller-app-id');
      if (via !== USER_FACING_CALLER)
        problem(403, 'forbidden', `the progress is for the ${USER_FACING_CALLER}`);
      const { showId } = c.req.valid('param');
      const { heartbeatMs, maxDurationMs } = deps.stream;
      const { pollMs, admissionRatePerSecond } = deps.progress;
      const log = c.get('log').child({ show_id: showId });

      return streamSSE(c, async (stream) => {
        const endAt = Date.now() + maxDurationMs;
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        log.info('progress stream opened');
        const samples: { atMs: number; servedUpTo: number }[] = [];
        let lastSent: ProgressEvent | undefined;
        let lastWrite = Date.now();
        let first = true;
        try {
          while (!closed && Date.now() < endAt) {
            const now = Date.now();
            const { servedUpTo, waiting } = await deps.room.progress(showId);
            samples.push({ atMs: now, servedUpTo });
            while (samples.length > 2 && now - samples[0]!.atMs > RATE_WINDOW_MS) samples.shift();
            const oldest = samples[0]!;
            const measured =
              now - oldest.atMs >= 1000
                ? ((servedUpTo - oldest.servedUpTo) * 1000) / (now - oldest.atMs)
                : undefined;
            const event: ProgressEvent = {
              servedUpTo,
              waiting,
              ratePerSecond: Math.round((measured ?? admissionRatePerSecond) * 100) / 100,
            };
            if (lastSent?.servedUpTo !== servedUpTo || lastSent.waiting !== waiting) {
              await stream.writeSSE({
                event: 'progress',
                data: JSON.stringify(event),
                id: String(servedUpTo),
                ...(first ? { retry: 1000 } : {}),
              });
              first = false;
              lastSent = event;
              lastWrite = Date.now();
            } else if (Date.now() - lastWrite >= heartbeatMs) {
              await stream.write(': keep-alive\n\n');
              lastWrite = Date.now();
            }
            await stream.sleep(pollMs);
          }
        } finally {
          log.info('progress stream closed');
        }
      });
    });
}

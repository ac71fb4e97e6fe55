// Foundation test app, consuming side: handles ticket.voided once per CloudEvent id (inbox), can
// be told to fail for a reservation (to watch retries and dead-lettering), and records what
// reaches the dead-letter topic. Tests read its observations over HTTP.
import { fileURLToPath } from 'node:url';
import { createRoute, z } from '@hono/zod-openapi';
import { baseConfigShape, databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber, type DeadLetter } from '@reservex/platform/events';
import { createApp, serve } from '@reservex/platform/http';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { startTelemetry } from '@reservex/platform/telemetry';
import { eq } from 'drizzle-orm';
import * as schema from './schema.ts';

const config = loadConfig({ ...baseConfigShape, ...databaseConfigShape });
const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: config.LOG_LEVEL,
});
const database = createDatabase(config.DATABASE_URL, schema, { applicationName: config.SERVICE_NAME });
await migrate(config.DATABASE_URL, fileURLToPath(new URL('./drizzle', import.meta.url)));
const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});

const app = createApp({
  serviceName: config.SERVICE_NAME,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

type Delivery = { id: string; reservationId: string; outcome: InboxOutcome; traceparent: string | undefined };
const failingReservations = new Set<string>();
const attempts = new Map<string, number>();
const deliveries: Delivery[] = [];
const deadLetters: DeadLetter[] = [];

const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME });
subscriber.on('ticket.voided', async (event, ctx) => {
  attempts.set(event.reservationId, (attempts.get(event.reservationId) ?? 0) + 1);
  if (failingReservations.has(event.reservationId))
    throw new Error(`told to fail for ${event.reservationId}`);
  const outcome = await handleOnce(
    database.db,
    { consumer: `${ctx.consumer}.void-tickets`, eventId: ctx.id, topic: ctx.topic },
    async (tx) => {
      await tx
        .insert(schema.effects)
        .values({ eventId: ctx.id, reservationId: event.reservationId, ticketCount: event.ticketIds.length });
    },
  );
  deliveries.push({ id: ctx.id, reservationId: event.reservationId, outcome, traceparent: ctx.traceparent });
});
subscriber.onDeadLetter((letter) => {
  deadLetters.push(letter);
});

app.openapi(
  createRoute({
    method: 'post',
    path: '/failing-reservations',
    summary: 'Make the handler throw for events of this reservation',
    request: {
      body: {
        content: { 'application/json': { schema: z.object({ reservationId: z.uuid() }) } },
        required: true,
      },
    },
    responses: { 204: { description: 'Noted' } },
  }),
  (c) => {
    failingReservations.add(c.req.valid('json').reservationId);
    return c.body(null, 204);
  },
);

const Observation = z.object({
  attempts: z.number().int(),
  deliveries: z.array(
    z.object({
      id: z.string(),
      reservationId: z.string(),
      outcome: z.string(),
      traceparent: z.string().optional(),
    }),
  ),
  effects: z.array(z.object({ eventId: z.string(), ticketCount: z.number().int() })),
  deadLetters: z.array(
    z.object({
      id: z.string(),
      originalTopic: z.string().optional(),
      source: z.string().optional(),
      data: z.unknown(),
    }),
  ),
});

app.openapi(
  createRoute({
    method: 'get',
    path: '/observations/{reservationId}',
    summary: 'What this consumer saw and did for one reservation',
    request: { params: z.object({ reservationId: z.uuid() }) },
    responses: {
      200: { description: 'Observations', content: { 'application/json': { schema: Observation } } },
    },
  }),
  async (c) => {
    const { reservationId } = c.req.valid('param');
    const effects = await database.db
      .select({ eventId: schema.effects.eventId, ticketCount: schema.effects.ticketCount })
      .from(schema.effects)
      .where(eq(schema.effects.reservationId, reservationId));
    const letters = deadLetters
      .filter(
        (letter) => (letter.data as { reservationId?: unknown } | null)?.reservationId === reservationId,
      )
      .map((letter) => ({
        id: letter.id,
        originalTopic: letter.originalTopic,
        source: letter.source,
        data: letter.data,
      }));
    return c.json(
      {
        attempts: attempts.get(reservationId) ?? 0,
        deliveries: deliveries.filter((d) => d.reservationId === reservationId),
        effects,
        deadLetters: letters,
      },
      200,
    );
  },
);

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [() => subscriber.drain(), () => database.close(), () => telemetry.shutdown()],
});

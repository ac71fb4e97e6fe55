// Foundation test app, publishing side: a business change and its ticket.voided event written in
// one transaction (outbox), published by the relay. Wired like a service's main.ts.
//
// Test-only switch: when the file named by RELAY_HOLD_FILE exists at start-up, the relay is not
// started, so a test can commit outbox rows that stay unpublished until a restart without it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRoute, z } from '@hono/zod-openapi';
import { baseConfigShape, databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createApp, problem, problemResponses, serve } from '@reservex/platform/http';
import { enqueue, outbox, startRelay } from '@reservex/platform/outbox';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { eq } from 'drizzle-orm';
import * as schema from './schema.ts';

const config = loadConfig({
  ...baseConfigShape,
  ...databaseConfigShape,
  RELAY_HOLD_FILE: z.string().optional(),
});
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

const VoidRequest = z.object({
  reservationId: z.uuid(),
  ticketIds: z.array(z.uuid()).min(1),
});

app.openapi(
  createRoute({
    method: 'post',
    path: '/voids',
    summary: 'Void tickets: the change and its event in one transaction',
    request: { body: { content: { 'application/json': { schema: VoidRequest } }, required: true } },
    responses: {
      201: {
        description: 'Recorded; the event is in the outbox',
        content: { 'application/json': { schema: z.object({ outboxId: z.uuid() }) } },
      },
      ...problemResponses(422),
    },
  }),
  async (c) => {
    const { reservationId, ticketIds } = c.req.valid('json');
    const outboxId = await database.db.transaction(async (tx) => {
      await tx.insert(schema.voids).values({ reservationId, ticketCount: ticketIds.length });
      return enqueue(
        tx,
        'ticket.voided',
        { schemaVersion: 1, reservationId, occurredAt: new Date().toISOString(), ticketIds },
        { partitionKey: reservationId },
      );
    });
    return c.json({ outboxId }, 201);
  },
);

app.openapi(
  createRoute({
    method: 'post',
    path: '/outbox/{id}/republish',
    summary: 'Publish an outbox row again with the same CloudEvent id (a redelivery)',
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 204: { description: 'Published' }, ...problemResponses(404) },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const [row] = await database.db.select().from(outbox).where(eq(outbox.id, id));
    if (!row) problem(404, 'not-found', `no outbox row ${id}`);
    await dapr.publish(config.PUBSUB_NAME, row.topic, row.payload, {
      id: row.id,
      partitionKey: row.partitionKey,
    });
    return c.body(null, 204);
  },
);

app.openapi(
  createRoute({
    method: 'post',
    path: '/raw/{topic}',
    summary: 'Publish a payload as is, bypassing the contract (to produce an invalid event)',
    request: {
      params: z.object({ topic: z.string().min(1) }),
      body: {
        content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        required: true,
      },
    },
    responses: {
      202: {
        description: 'Published',
        content: { 'application/json': { schema: z.object({ id: z.uuid() }) } },
      },
    },
  }),
  async (c) => {
    const { topic } = c.req.valid('param');
    const data = c.req.valid('json');
    const id = crypto.randomUUID();
    await dapr.publish(config.PUBSUB_NAME, topic, data, {
      id,
      partitionKey: String(data.reservationId ?? id),
    });
    return c.json({ id }, 202);
  },
);

const holdRelay = config.RELAY_HOLD_FILE !== undefined && existsSync(config.RELAY_HOLD_FILE);
if (holdRelay) logger.warn({ file: config.RELAY_HOLD_FILE }, 'relay held: outbox rows stay unpublished');
const relay = holdRelay
  ? undefined
  : startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [() => relay?.stop(), () => database.close(), () => telemetry.shutdown()],
});

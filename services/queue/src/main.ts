// Wiring only: config → telemetry → database, Redis → app → admission loop → listen → subscribe.
import { fileURLToPath } from 'node:url';
import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
  loadConfig,
  urlFromString,
} from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { startAdmitter } from './admission/admitter.ts';
import { createQueueApp } from './app.ts';
import * as schema from './db/schema.ts';
import { validPolicy } from './domain/leadership.ts';
import { passKeyOf } from './domain/pass-token.ts';
import { freeSlotOnReservationEnd } from './events/reservation-ended.ts';
import { createShowSales } from './shows/show-sales.ts';
import { createWaitingRoom } from './waiting-room/waiting-room.ts';

const config = loadConfig({
  ...baseConfigShape,
  ...databaseConfigShape,
  REDIS_URL: urlFromString(['redis', 'rediss']),
  PASS_TOKEN_SECRET: z
    .string()
    .min(32, 'a secret of at least 32 characters')
    .describe('a secret of at least 32 characters'),
  PASS_TTL_SECONDS: intFromString({ min: 10, max: 3600 }).default(300),
  ADMISSION_RATE: z.coerce.number().positive('admissions per second, > 0').default(10),
  MAX_ACTIVE: intFromString({ min: 1 }).default(100),
  /** How long an admitted user keeps the slot when no reservation event frees it (covers the hold). */
  SLOT_GRACE: durationFromString().default(600_000),
  ADMISSION_TICK: durationFromString().default(250),
  ADMISSION_LEASE: durationFromString().default(10_000),
  ADMISSION_LOG_MAX: intFromString({ min: 0 }).default(100_000),
  SSE_POLL_INTERVAL: durationFromString().default(1000),
  SSE_HEARTBEAT: durationFromString().default(15_000),
  SSE_MAX_DURATION: durationFromString().default(600_000),
  INVENTORY_APP_ID: z.string().min(1).default('inventory'),
  /** How long a show's sale windows, as inventory answered, are reused for joins. */
  SHOW_CACHE: durationFromString().default(2000),
});

const lease = {
  leaseMs: config.ADMISSION_LEASE,
  renewBeforeMs: Math.max(config.ADMISSION_LEASE * 0.3, 2 * config.ADMISSION_TICK),
  safetyMs: Math.max(config.ADMISSION_LEASE * 0.1, config.ADMISSION_TICK),
};
if (!validPolicy(lease) || config.ADMISSION_LEASE % 1000 !== 0) {
  process.stderr.write(
    'invalid configuration: ADMISSION_LEASE is malformed (expected whole seconds, well above ADMISSION_TICK)\n',
  );
  process.exit(1);
}

const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: config.LOG_LEVEL,
});

const database = createDatabase(config.DATABASE_URL, schema, {
  max: 4,
  applicationName: config.SERVICE_NAME,
});
await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)));

const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, commandTimeout: 2000 });
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
const room = createWaitingRoom(redis);

const app = createQueueApp({
  room,
  shows: createShowSales({
    invoke: dapr.invoke,
    inventoryAppId: config.INVENTORY_APP_ID,
    cacheMs: config.SHOW_CACHE,
  }),
  passKey: passKeyOf(config.PASS_TOKEN_SECRET),
  stream: {
    pollMs: config.SSE_POLL_INTERVAL,
    heartbeatMs: config.SSE_HEARTBEAT,
    maxDurationMs: config.SSE_MAX_DURATION,
  },
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), redis: () => redis.ping(), dapr: () => dapr.ready() },
});

const freeSlot = freeSlotOnReservationEnd({
  db: database.db,
  room,
  pass: { ttlMs: config.PASS_TTL_SECONDS * 1000, minMs: 10_000 },
});
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME })
  .on('reservation.confirmed', freeSlot)
  .on('reservation.cancelled', freeSlot);

const admitter = startAdmitter({
  room,
  lock: dapr.lock,
  lockStore: config.LOCKSTORE_NAME,
  lease,
  tickMs: config.ADMISSION_TICK,
  ratePerSecond: config.ADMISSION_RATE,
  settings: {
    maxActive: config.MAX_ACTIVE,
    slotLeaseMs: config.PASS_TTL_SECONDS * 1000 + config.SLOT_GRACE,
    passTtlMs: config.PASS_TTL_SECONDS * 1000,
    logMax: config.ADMISSION_LOG_MAX,
  },
  logger,
});

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [
    () => admitter.stop(),
    () => subscriber.drain(),
    () => redis.quit(),
    () => database.close(),
    () => telemetry.shutdown(),
  ],
});

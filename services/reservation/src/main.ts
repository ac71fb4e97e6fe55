// Wiring only: config → telemetry → database → app → listen → subscribe → relay → expiry sweeper.
import { hostname } from 'node:os';
import { topology } from '@reservex/contracts';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { serveReplay, startRelay } from '@reservex/platform/outbox';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { createReservationApp } from './app.ts';
import { createBooking } from './booking.ts';
import { createCatalogue } from './catalogue.ts';
import { loadReservationConfig } from './config.ts';
import * as schema from './db/schema.ts';
import { passKey } from './domain/pass.ts';
import type { HandlerContext } from './events/apply.ts';
import { onDeadLetter } from './events/dead-letter.ts';
import { onPaymentCompleted } from './events/payment-completed.ts';
import { onPaymentFailed } from './events/payment-failed.ts';
import { onStockFailed } from './events/stock-failed.ts';
import { onStockReserved } from './events/stock-reserved.ts';
import { onTicketIssueFailed } from './events/ticket-issue-failed.ts';
import { onTicketIssued } from './events/ticket-issued.ts';
import { startExpirySweeper } from './expiry.ts';
import { createIdempotency } from './idempotency.ts';
import { migrationsFolder } from './migrations.ts';

const config = loadReservationConfig();
const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: config.LOG_LEVEL,
});
const database = createDatabase(config.DATABASE_URL, schema, { applicationName: config.SERVICE_NAME });
await migrate(database, migrationsFolder);
const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});
const instanceId = `${config.SERVICE_NAME}-${hostname()}-${process.pid}`;

const booking = createBooking({
  db: database.db,
  dapr,
  catalogue: createCatalogue({
    invoke: dapr.invoke,
    inventoryAppId: config.INVENTORY_APP_ID,
    cacheMs: config.CATALOGUE_CACHE_MS,
  }),
  stateStore: config.STATESTORE_NAME,
  lockStore: config.LOCKSTORE_NAME,
  passKey: config.REQUIRE_PASS && config.PASS_TOKEN_SECRET ? passKey(config.PASS_TOKEN_SECRET) : undefined,
  holdTtlSeconds: config.HOLD_TTL_SECONDS,
  instanceId,
});

const app = createReservationApp({
  db: database.db,
  booking,
  idempotency: createIdempotency({
    state: dapr.state,
    store: config.STATESTORE_NAME,
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
  }),
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { database: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

const handlers: HandlerContext = { db: database.db, now: () => new Date() };
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME })
  .on('stock.reserved', onStockReserved(handlers))
  .on('stock.failed', onStockFailed(handlers))
  .on('payment.completed', onPaymentCompleted(handlers))
  .on('payment.failed', onPaymentFailed(handlers))
  .on('ticket.issued', onTicketIssued(handlers))
  .on('ticket.issue.failed', onTicketIssueFailed(handlers))
  .onDeadLetter(onDeadLetter(handlers));

const relay = startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });
// Dead-letter replay: only this service publishes its topics, so query asks it to.
serveReplay(app, { db: database.db, owns: topology.reservation.publishes });
const sweeper = startExpirySweeper({
  db: database.db,
  lock: dapr.lock,
  lockStore: config.LOCKSTORE_NAME,
  instanceId,
  intervalMs: config.EXPIRY_SWEEP_INTERVAL_MS,
});

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [
    () => sweeper.stop(),
    () => subscriber.drain(),
    () => relay.stop(),
    () => database.close(),
    () => telemetry.shutdown(),
  ],
});
logger.info(
  { hold_ttl_seconds: config.HOLD_TTL_SECONDS, require_pass: config.REQUIRE_PASS },
  'reservation started',
);

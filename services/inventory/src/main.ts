// Wiring only: config → telemetry → database → app → listen → subscribe → relay.
import { topology } from '@reservex/contracts';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { serveReplay, startRelay } from '@reservex/platform/outbox';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { createInventoryApp } from './app.ts';
import { loadInventoryConfig } from './config.ts';
import * as schema from './db/schema.ts';
import type { HandlerContext } from './events/context.ts';
import { releaseHeldStock } from './events/reservation-cancelled.ts';
import { sellStock } from './events/reservation-confirmed.ts';
import { holdStock, holdStockInBatches } from './events/reservation-created.ts';
import { migrationsFolder } from './migrations.ts';

const config = loadInventoryConfig();
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

const app = createInventoryApp({
  db: database.db,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { database: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

const handlers: HandlerContext = {
  db: database.db,
  now: () => new Date(),
};
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME });
if (config.INVENTORY_STRATEGY === 'batched')
  subscriber.onBatch('reservation.created', holdStockInBatches(handlers), {
    maxMessages: config.INVENTORY_BATCH_MAX,
    maxAwaitMs: config.INVENTORY_BATCH_WAIT_MS,
  });
else subscriber.on('reservation.created', holdStock(handlers, config.INVENTORY_STRATEGY));
subscriber
  .on('reservation.confirmed', sellStock(handlers))
  .on('reservation.cancelled', releaseHeldStock(handlers));

const relay = startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });
// Dead-letter replay: only this service publishes its topics, so query asks it to.
serveReplay(app, { db: database.db, owns: topology.inventory.publishes });

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [
    () => subscriber.drain(),
    () => relay.stop(),
    () => database.close(),
    () => telemetry.shutdown(),
  ],
});
logger.info({ strategy: config.INVENTORY_STRATEGY }, 'inventory started');

// Wiring only: config → telemetry → database → app → listen → subscribe.
import { fileURLToPath } from 'node:url';
import { topology } from '@reservex/contracts';
import { loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { askOwnerThrough, startRelay } from '@reservex/platform/outbox';
import { configureLogger, logger, startTelemetry } from '@reservex/platform/telemetry';
import { createQueryApp } from './app.ts';
import { queryConfigShape } from './config.ts';
import { startDetailsFeed } from './db/details-feed.ts';
import { truncateReadModel } from './db/read-model.ts';
import { schema } from './db/schema.ts';
import { collectDeadLetter } from './events/dead-letter.ts';
import { projectSagaEvent } from './events/saga-event.ts';
import { type IdleWatch, watchIdle } from './idle-exit.ts';

const config = loadConfig(queryConfigShape);
configureLogger({ serviceName: config.SERVICE_NAME, level: config.LOG_LEVEL });
const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});

const database = createDatabase(config.DATABASE_URL, schema, { applicationName: config.SERVICE_NAME });
await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)));

const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});
const feed = await startDetailsFeed(database.sql);

const app = createQueryApp({
  db: database.db,
  feed,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), dapr: () => dapr.ready() },
  appearWaitMs: config.SSE_APPEAR_WAIT_MS,
  heartbeatMs: config.SSE_HEARTBEAT_MS,
  streamMaxMs: config.SSE_MAX_MS,
  askOwner: askOwnerThrough(dapr.invoke),
});

if (config.QUERY_MODE === 'rebuild' && config.REBUILD_TRUNCATE) {
  // Before serving: the sidecar subscribes only once the app answers.
  await truncateReadModel(database.db);
  logger.info('read model emptied for the rebuild');
}
let idle: IdleWatch | undefined;
if (config.QUERY_MODE === 'rebuild' && config.REBUILD_EXIT_IDLE_MS > 0) {
  idle = watchIdle({
    idleMs: config.REBUILD_EXIT_IDLE_MS,
    firstEventWithinMs: Math.max(config.REBUILD_EXIT_IDLE_MS, 60_000),
    onIdle: (projected) => {
      logger.info({ projected }, 'rebuild done: no event for a while; stopping the sidecar and exiting');
      dapr.shutdown().then(
        () => process.kill(process.pid, 'SIGTERM'),
        (error: unknown) => {
          logger.error({ err: error }, 'the sidecar did not take the shutdown; exiting anyway');
          process.kill(process.pid, 'SIGTERM');
        },
      );
    },
  });
}

const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME });
const projectEvent = projectSagaEvent({ db: database.db, consumer: config.PROJECTION_CONSUMER });
for (const topic of topology.query.consumes) {
  subscriber.on(topic, async (event, delivery) => {
    await projectEvent(topic, event, delivery);
    idle?.record();
  });
}

const shutdown: (() => Promise<unknown>)[] = [() => subscriber.drain()];
if (config.QUERY_MODE === 'serve') {
  const storeDeadLetter = collectDeadLetter({ db: database.db });
  subscriber.onDeadLetter(async (letter) => {
    await storeDeadLetter(letter);
  });
  // Publishes replayed dead letters.
  const relay = startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });
  shutdown.push(() => relay.stop());
}

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [...shutdown, () => feed.close(), () => database.close(), () => telemetry.shutdown()],
});

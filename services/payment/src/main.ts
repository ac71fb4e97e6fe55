// Wiring only: config → telemetry → database → app → listen → subscribe.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { startRelay } from '@reservex/platform/outbox';
import { configureLogger, startTelemetry } from '@reservex/platform/telemetry';
import { createPaymentApp } from './app.ts';
import { paymentConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { createHttpProvider } from './domain/http-provider.ts';
import { refundCancelledReservation } from './events/reservation-cancelled.ts';
import { chargeReservation } from './events/stock-reserved.ts';
import { startResolver } from './resolver.ts';

const config = loadConfig(paymentConfigShape);
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
const provider = createHttpProvider({
  name: config.PAYMENT_PROVIDER,
  baseUrl: config.PAYMENT_PROVIDER_URL,
  apiKey: config.PAYMENT_PROVIDER_API_KEY,
});
const retry = {
  retries: config.PAYMENT_PROVIDER_RETRIES,
  minTimeoutMs: config.PAYMENT_PROVIDER_RETRY_MIN_MS,
  attemptTimeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS,
};

const app = createPaymentApp({
  db: database.db,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

const settle = {
  db: database.db,
  provider,
  retry,
  faultPauseAfterChargeMs: config.PAYMENT_FAULT_PAUSE_AFTER_CHARGE_MS,
};
const charge = chargeReservation(settle);
const refund = refundCancelledReservation(settle);
const resolver = startResolver(settle, {
  intervalMs: config.PAYMENT_RESOLVE_INTERVAL_MS,
  afterMs: config.PAYMENT_RESOLVE_AFTER_MS,
});
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME })
  .on('stock.reserved', async (event, delivery) => {
    await charge(event, delivery);
  })
  .on('reservation.cancelled', async (event, delivery) => {
    await refund(event, delivery);
  });

const relay = startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [
    () => subscriber.drain(),
    () => resolver.stop(),
    () => relay.stop(),
    () => database.close(),
    () => telemetry.shutdown(),
  ],
});

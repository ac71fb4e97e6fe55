// Wiring only: config → telemetry → database → app → listen → subscribe.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { topology } from '@reservex/contracts';
import { loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { createSubscriber } from '@reservex/platform/events';
import { serve } from '@reservex/platform/http';
import { serveReplay, startRelay } from '@reservex/platform/outbox';
import { configureLogger, logger, startTelemetry } from '@reservex/platform/telemetry';
import { createTicketApp } from './app.ts';
import { ticketConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { parseLockedShows } from './domain/issuing.ts';
import { createTicketSigner } from './domain/ticket-code.ts';
import { issueTickets } from './events/payment-completed.ts';
import { voidCancelledTickets } from './events/reservation-cancelled.ts';

const config = loadConfig(ticketConfigShape);
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
if (!config.TICKET_SIGNING_SECRET) {
  logger.warn('TICKET_SIGNING_SECRET is not set: QR payloads are signed with a per-process key');
}
const signer = createTicketSigner(config.TICKET_SIGNING_SECRET ?? randomBytes(32).toString('base64url'));

const app = createTicketApp({
  db: database.db,
  signQr: signer.sign,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

const issue = issueTickets({
  db: database.db,
  lockedShows: parseLockedShows(config.TICKET_ISSUING_LOCKED_SHOWS),
});
const voidTickets = voidCancelledTickets({ db: database.db });
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME })
  .on('payment.completed', async (event, delivery) => {
    await issue(event, delivery);
  })
  .on('reservation.cancelled', async (event, delivery) => {
    await voidTickets(event, delivery);
  });

const relay = startRelay({ db: database.db, sql: database.sql, dapr, pubsubName: config.PUBSUB_NAME });
// Dead-letter replay: only this service publishes its topics, so query asks it to.
serveReplay(app, { db: database.db, owns: topology.ticket.publishes });

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

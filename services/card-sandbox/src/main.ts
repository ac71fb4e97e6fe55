// Wiring only: config → telemetry → database (migrated) → app → listen. No sidecar: callers reach
// the sandbox over plain HTTP, as they would reach a real card provider.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@reservex/platform/config';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { serve } from '@reservex/platform/http';
import { configureLogger, startTelemetry } from '@reservex/platform/telemetry';
import { createCardSandboxApp } from './app.ts';
import { sandboxConfigShape } from './config.ts';
import { schema } from './db/schema.ts';

const config = loadConfig(sandboxConfigShape);
configureLogger({ serviceName: config.SERVICE_NAME, level: config.LOG_LEVEL });
const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});

const database = createDatabase(config.DATABASE_URL, schema, { applicationName: config.SERVICE_NAME });
// Like a service, it waits for a database that is not there yet (starting beside it) rather than exit.
await migrate(config.DATABASE_URL, fileURLToPath(new URL('../drizzle', import.meta.url)), {
  waitMs: config.DATABASE_WAIT_MS,
});

const app = createCardSandboxApp({
  db: database.db,
  apiKey: config.SANDBOX_API_KEY,
  slowResponseMs: config.SANDBOX_SLOW_MS,
  flakyFailures: config.SANDBOX_FLAKY_FAILURES,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql) },
});

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [() => database.close(), () => telemetry.shutdown()],
});

// The card sandbox: a card provider's test mode over a durable ledger. Run by the platform
// (`runService`) without a sidecar: callers reach it over plain HTTP, as they would a real provider.
import { defineService, runService } from '@reservex/platform/service';
import { createCardSandboxApp } from './app.ts';
import { sandboxConfigShape } from './config.ts';
import { schema } from './db/schema.ts';

export const service = defineService({
  name: 'card-sandbox',
  config: sandboxConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  app: ({ config, database, readiness }) =>
    createCardSandboxApp({
      db: database.db,
      apiKey: config.SANDBOX_API_KEY,
      slowResponseMs: config.SANDBOX_SLOW_MS,
      flakyFailures: config.SANDBOX_FLAKY_FAILURES,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      readiness,
    }),
});

await runService(service, import.meta);

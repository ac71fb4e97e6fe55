// Wiring only: config → telemetry → database → keys → app → listen.
import { fileURLToPath } from 'node:url';
import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
  loadConfig,
} from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase, databaseReady, migrate } from '@reservex/platform/db';
import { serve } from '@reservex/platform/http';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { z } from 'zod';
import { createAccountApp } from './app.ts';
import * as schema from './db/schema.ts';
import { defaultThrottlePolicy } from './domain/login-throttle.ts';
import { parseAdminEmails } from './domain/roles.ts';
import { createKeySealer, MIN_SECRET_LENGTH } from './keys/key-encryption.ts';
import { configuredKeySource, generatedKeySource } from './keys/signing-keys.ts';
import { daprLoginThrottle } from './login-throttle-store.ts';

const config = loadConfig({
  ...baseConfigShape,
  ...databaseConfigShape,
  ACCESS_TOKEN_TTL_SECONDS: intFromString({ min: 30, max: 86_400 }).default(900),
  REFRESH_TOKEN_TTL_SECONDS: intFromString({ min: 60, max: 90 * 86_400 }).default(30 * 86_400),
  JWT_ISSUER: z.string().trim().min(1).default('reservex-account'),
  JWT_AUDIENCE: z.string().trim().min(1).default('reservex'),
  /** JSON array of private JWKs from a secret; unset → generated keys kept in the database. */
  JWT_SIGNING_KEYS: z.string().trim().min(2).optional(),
  /** Seals generated keys in the database (32+ characters, from a Secret); needed without JWT_SIGNING_KEYS. */
  SIGNING_KEY_ENCRYPTION_KEY: z
    .string()
    .min(MIN_SECRET_LENGTH, `at least ${MIN_SECRET_LENGTH} characters`)
    .optional(),
  SIGNING_KEY_ROTATION_INTERVAL: durationFromString().default(7 * 24 * 3_600_000),
  /** How often a replica re-reads generated keys (and checks whether a rotation is due). */
  SIGNING_KEY_REFRESH_INTERVAL: durationFromString().default(60_000),
  ADMIN_EMAILS: z.string().optional(),
  LOGIN_MAX_FAILURES: intFromString({ min: 1, max: 1000 }).default(defaultThrottlePolicy.maxFailures),
  LOGIN_FAILURE_WINDOW: durationFromString().default(defaultThrottlePolicy.windowMs),
  LOGIN_LOCK_BASE: durationFromString().default(defaultThrottlePolicy.baseLockMs),
  LOGIN_LOCK_MAX: durationFromString().default(defaultThrottlePolicy.maxLockMs),
});

const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: config.LOG_LEVEL,
});

const database = createDatabase(config.DATABASE_URL, schema, { applicationName: config.SERVICE_NAME });
await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)));

const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});

function fail(message: string): never {
  throw new Error(message);
}

let keys: Awaited<ReturnType<typeof configuredKeySource>>;
try {
  keys = config.JWT_SIGNING_KEYS
    ? await configuredKeySource(config.JWT_SIGNING_KEYS)
    : await generatedKeySource(database.db, {
        sealer: createKeySealer(
          config.SIGNING_KEY_ENCRYPTION_KEY ??
            fail('SIGNING_KEY_ENCRYPTION_KEY is required when JWT_SIGNING_KEYS is not set'),
        ),
        accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        rotationIntervalMs: config.SIGNING_KEY_ROTATION_INTERVAL,
        refreshIntervalMs: config.SIGNING_KEY_REFRESH_INTERVAL,
      });
} catch (error) {
  process.stderr.write(`invalid configuration: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
logger.info({ source: config.JWT_SIGNING_KEYS ? 'JWT_SIGNING_KEYS' : 'database' }, 'signing keys loaded');

const app = createAccountApp({
  db: database.db,
  keys,
  throttle: daprLoginThrottle(dapr, config.STATESTORE_NAME, {
    maxFailures: config.LOGIN_MAX_FAILURES,
    windowMs: config.LOGIN_FAILURE_WINDOW,
    baseLockMs: config.LOGIN_LOCK_BASE,
    maxLockMs: config.LOGIN_LOCK_MAX,
  }),
  accessToken: {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  },
  refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  adminEmails: parseAdminEmails(config.ADMIN_EMAILS),
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { db: () => databaseReady(database.sql), dapr: () => dapr.ready() },
});

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [() => keys.close(), () => database.close(), () => telemetry.shutdown()],
});

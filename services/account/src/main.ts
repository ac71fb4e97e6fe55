// Accounts, sessions and the keys that sign access tokens. Run by the platform (`runService`).
import { ConfigurationError, defineService, runService } from '@reservex/platform/service';
import { createAccountApp } from './app.ts';
import { accountConfigShape, keySourceRule } from './config.ts';
import * as schema from './db/schema.ts';
import { parseAdminEmails } from './domain/roles.ts';
import { createKeySealer } from './keys/key-encryption.ts';
import { configuredKeySource, generatedKeySource } from './keys/signing-keys.ts';
import { daprLoginThrottle } from './login-throttle-store.ts';

export const service = defineService({
  name: 'account',
  config: accountConfigShape,
  checkConfig: keySourceRule,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: async ({ config: c, database, log, onShutdown }) => {
    const keys = await (c.JWT_SIGNING_KEYS
      ? configuredKeySource(c.JWT_SIGNING_KEYS)
      : generatedKeySource(database.db, {
          sealer: createKeySealer(c.SIGNING_KEY_ENCRYPTION_KEY ?? ''),
          accessTokenTtlSeconds: c.ACCESS_TOKEN_TTL_SECONDS,
          rotationIntervalMs: c.SIGNING_KEY_ROTATION_INTERVAL,
          refreshIntervalMs: c.SIGNING_KEY_REFRESH_INTERVAL,
        })
    ).catch((error: unknown) => {
      throw new ConfigurationError(error instanceof Error ? error.message : String(error));
    });
    onShutdown(() => keys.close());
    log.info({ source: c.JWT_SIGNING_KEYS ? 'JWT_SIGNING_KEYS' : 'database' }, 'signing keys loaded');
    return { keys };
  },
  app: ({ config: c, database, dapr, keys, readiness }) =>
    createAccountApp({
      db: database.db,
      keys,
      throttle: daprLoginThrottle(dapr, c.STATESTORE_NAME, {
        maxFailures: c.LOGIN_MAX_FAILURES,
        windowMs: c.LOGIN_FAILURE_WINDOW,
        baseLockMs: c.LOGIN_LOCK_BASE,
        maxLockMs: c.LOGIN_LOCK_MAX,
      }),
      accessToken: { issuer: c.JWT_ISSUER, audience: c.JWT_AUDIENCE, ttlSeconds: c.ACCESS_TOKEN_TTL_SECONDS },
      refreshTokenTtlSeconds: c.REFRESH_TOKEN_TTL_SECONDS,
      adminEmails: parseAdminEmails(c.ADMIN_EMAILS),
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      readiness,
    }),
  consumes: () => ({}),
});

await runService(service, import.meta);

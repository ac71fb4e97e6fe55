// How the account service's parts are built from its configuration and the platform; main.ts
// declares the service with them.
import { ConfigurationError, type ServiceContext } from '@reservex/platform/service';
import { createAccountApp } from './app.ts';
import type { accountConfigShape } from './config.ts';
import type * as schema from './db/schema.ts';
import { parseAdminEmails } from './domain/roles.ts';
import { createKeySealer } from './keys/key-encryption.ts';
import { configuredKeySource, generatedKeySource, type KeySource } from './keys/signing-keys.ts';
import { daprLoginThrottle } from './login-throttle-store.ts';

type Context = ServiceContext<'account', typeof accountConfigShape, typeof schema>;

/**
 * The keys that sign access tokens: the configured ones (JWT_SIGNING_KEYS), or keys account generates,
 * seals and rotates in its database. Keys that cannot be used stop the start-up as a configuration error.
 */
export async function signingKeys({
  config: c,
  database,
  log,
  onShutdown,
}: Context): Promise<{ keys: KeySource }> {
  const keys = await (c.JWT_SIGNING_KEYS
    ? configuredKeySource(c.JWT_SIGNING_KEYS)
    : generatedKeySource(database.db, {
        sealer: createKeySealer(c.SIGNING_KEY_ENCRYPTION_KEY ?? ''),
        accessTokenTtlSeconds: c.ACCESS_TOKEN_TTL_SECONDS,
        rotationIntervalMs: c.SIGNING_KEY_ROTATION_INTERVAL_MS,
        refreshIntervalMs: c.SIGNING_KEY_REFRESH_INTERVAL_MS,
      })
  ).catch((error: unknown) => {
    throw new ConfigurationError(error instanceof Error ? error.message : String(error));
  });
  onShutdown(() => keys.close());
  log.info({ source: c.JWT_SIGNING_KEYS ? 'JWT_SIGNING_KEYS' : 'database' }, 'signing keys loaded');
  return { keys };
}

/** Sign-up, sign-in, refresh and sign-out, staff assignments, and the public signing keys. */
export function accountApp({ config: c, database, dapr, keys, readiness }: Context & { keys: KeySource }) {
  return createAccountApp({
    db: database.db,
    keys,
    throttle: daprLoginThrottle(dapr, c.STATESTORE_NAME, {
      maxFailures: c.LOGIN_MAX_FAILURES,
      windowMs: c.LOGIN_FAILURE_WINDOW_MS,
      baseLockMs: c.LOGIN_LOCK_BASE_MS,
      maxLockMs: c.LOGIN_LOCK_MAX_MS,
    }),
    accessToken: { issuer: c.JWT_ISSUER, audience: c.JWT_AUDIENCE, ttlSeconds: c.ACCESS_TOKEN_TTL_SECONDS },
    refreshTokenTtlSeconds: c.REFRESH_TOKEN_TTL_SECONDS,
    adminEmails: parseAdminEmails(c.ADMIN_EMAILS),
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    readiness,
  });
}

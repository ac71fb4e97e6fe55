// Account's configuration: the platform's settings plus tokens, signing keys and the login throttle.
import { durationFromString, intFromString } from '@reservex/platform/config';
import { z } from 'zod';
import { defaultThrottlePolicy } from './domain/login-throttle.ts';
import { MIN_SECRET_LENGTH } from './keys/key-encryption.ts';

export const accountConfigShape = {
  ACCESS_TOKEN_TTL_SECONDS: durationFromString({ unit: 's', min: 30, max: 86_400 }).default(900),
  REFRESH_TOKEN_TTL_SECONDS: durationFromString({ unit: 's', min: 60, max: 90 * 86_400 }).default(
    30 * 86_400,
  ),
  JWT_ISSUER: z.string().trim().min(1).default('reservex-account'),
  JWT_AUDIENCE: z.string().trim().min(1).default('reservex'),
  /** JSON array of private JWKs from a secret; unset → generated keys kept in the database. */
  JWT_SIGNING_KEYS: z.string().trim().min(2).optional(),
  /** Seals generated keys in the database (32+ characters, from a Secret); needed without JWT_SIGNING_KEYS. */
  SIGNING_KEY_ENCRYPTION_KEY: z
    .string()
    .min(MIN_SECRET_LENGTH, `at least ${MIN_SECRET_LENGTH} characters`)
    .optional(),
  SIGNING_KEY_ROTATION_INTERVAL_MS: durationFromString().default(7 * 24 * 3_600_000),
  /** How often a replica re-reads generated keys (and checks whether a rotation is due). */
  SIGNING_KEY_REFRESH_INTERVAL_MS: durationFromString().default(60_000),
  ADMIN_EMAILS: z.string().optional(),
  LOGIN_MAX_FAILURES: intFromString({ min: 1, max: 1000 }).default(defaultThrottlePolicy.maxFailures),
  LOGIN_FAILURE_WINDOW_MS: durationFromString().default(defaultThrottlePolicy.windowMs),
  LOGIN_LOCK_BASE_MS: durationFromString().default(defaultThrottlePolicy.baseLockMs),
  LOGIN_LOCK_MAX_MS: durationFromString().default(defaultThrottlePolicy.maxLockMs),
};

/** Generated keys are kept sealed: without keys of its own, account needs the sealing key. */
export function keySourceRule(config: {
  JWT_SIGNING_KEYS?: string | undefined;
  SIGNING_KEY_ENCRYPTION_KEY?: string | undefined;
}) {
  return config.JWT_SIGNING_KEYS || config.SIGNING_KEY_ENCRYPTION_KEY
    ? undefined
    : 'SIGNING_KEY_ENCRYPTION_KEY is required when JWT_SIGNING_KEYS is not set';
}

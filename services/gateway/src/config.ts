// The gateway's configuration: the platform's settings plus token checks, limits, CORS and proxies.
import { durationFromString, intFromString } from '@reservex/platform/config';
import { z } from 'zod';

const positive = z.coerce.number().positive();

export const gatewayConfigShape = {
  JWT_ISSUER: z.string().trim().min(1).default('reservex-account'),
  JWT_AUDIENCE: z.string().trim().min(1).default('reservex'),
  ACCOUNT_APP_ID: z.string().trim().min(1).default('account'),
  JWKS_MAX_AGE_MS: durationFromString().default(300_000),
  JWKS_REFETCH_COOLDOWN_MS: durationFromString().default(10_000),
  UPSTREAM_TIMEOUT_MS: durationFromString().default(10_000),
  /** A comment line on each waiting stream this often, so proxies keep it open. */
  WAITING_STREAM_HEARTBEAT_MS: durationFromString().default(15_000),
  /** A waiting stream whose client reads nothing for this long is dropped. */
  WAITING_STREAM_STALL_MS: durationFromString().default(30_000),
  /** The share (0–1) of waiting users' position polls whose trace is recorded. */
  WAITING_POLL_TRACE_SHARE: z.coerce.number().min(0).max(1).default(0.01),
  RATE_LIMIT_ADDRESS_PER_SECOND: positive.default(50),
  RATE_LIMIT_ADDRESS_BURST: positive.default(100),
  RATE_LIMIT_USER_PER_SECOND: positive.default(10),
  RATE_LIMIT_USER_BURST: positive.default(30),
  // Origins whose pages may call the API from a browser, comma-separated; `*` for any (only the local
  // stack's default); empty: no cross-origin calls.
  CORS_ORIGINS: z
    .string()
    .trim()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.union([
          z.literal('*'),
          z.string().regex(/^https?:\/\/[^/\s,]+$/, 'origins such as https://tickets.example.com, or *'),
        ]),
      ),
    ),
  TRUSTED_PROXY_HOPS: intFromString({ min: 0, max: 10 }).default(0),
};

// Reservation's configuration: the platform's settings plus the saga's timings and the pass check.
import {
  baseConfigShape,
  booleanFromString,
  databaseConfigShape,
  durationFromString,
} from '@reservex/platform/config';
import { z } from 'zod';

export const reservationConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /** Enforce the waiting room's pass on POST /v1/reservations. */
  REQUIRE_PASS: booleanFromString().default(true),
  /** Shared with the queue service, which signs the passes. Needed when REQUIRE_PASS is true. */
  PASS_TOKEN_SECRET: z.string().min(32).describe('a secret of at least 32 characters').optional(),
  /** A reservation not confirmed within this many seconds is cancelled as EXPIRED. */
  HOLD_TTL_SECONDS: durationFromString({ unit: 's', min: 1, max: 86_400 }).default(600),
  EXPIRY_SWEEP_INTERVAL_MS: durationFromString().default(5000),
  /** How long an Idempotency-Key reply is kept. */
  IDEMPOTENCY_TTL_SECONDS: durationFromString({ unit: 's', min: 1 }).default(86_400),
  /** How long inventory's answer about a show is reused. */
  CATALOGUE_CACHE_MS: durationFromString().default(5000),
  INVENTORY_APP_ID: z.string().trim().min(1).default('inventory'),
};

/** A pass can only be checked with the secret it was signed with. */
export function passRequirement(config: { REQUIRE_PASS: boolean; PASS_TOKEN_SECRET?: string | undefined }) {
  return config.REQUIRE_PASS && !config.PASS_TOKEN_SECRET
    ? 'PASS_TOKEN_SECRET is missing (expected a secret of at least 32 characters, since REQUIRE_PASS is true)'
    : undefined;
}

// The queue's configuration: the platform's settings plus the pass, the admission pace and the streams.
import { durationFromString, intFromString } from '@reservex/platform/config';
import { z } from 'zod';
import { type LeasePolicy, validPolicy } from './domain/leadership.ts';

export const queueConfigShape = {
  PASS_TOKEN_SECRET: z
    .string()
    .min(32, 'a secret of at least 32 characters')
    .describe('a secret of at least 32 characters'),
  PASS_TTL_SECONDS: durationFromString({ unit: 's', min: 10, max: 3600 }).default(300),
  ADMISSION_RATE: z.coerce.number().positive('admissions per second, > 0').default(10),
  MAX_ACTIVE: intFromString({ min: 1 }).default(100),
  /** How long an admitted user keeps the slot when no reservation event frees it (covers the hold). */
  SLOT_GRACE_MS: durationFromString().default(600_000),
  ADMISSION_TICK_MS: durationFromString().default(1000),
  ADMISSION_LEASE_MS: durationFromString().default(10_000),
  ADMISSION_LOG_MAX: intFromString({ min: 0 }).default(100_000),
  SSE_POLL_INTERVAL_MS: durationFromString().default(1000),
  SSE_HEARTBEAT_MS: durationFromString().default(15_000),
  SSE_MAX_DURATION_MS: durationFromString().default(600_000),
  /** How often each show's admission progress stream (one per gateway) reads the progress. */
  PROGRESS_POLL_INTERVAL_MS: durationFromString().default(100),
  INVENTORY_APP_ID: z.string().min(1).default('inventory'),
  /** How long a show's sale windows, as inventory answered, are reused for joins. */
  SHOW_CACHE_MS: durationFromString().default(2000),
};

type LeaseSettings = { ADMISSION_LEASE_MS: number; ADMISSION_TICK_MS: number };

/** The admitter's lease, renewed well before it ends. */
export function leaseOf(config: LeaseSettings): LeasePolicy {
  return {
    leaseMs: config.ADMISSION_LEASE_MS,
    renewBeforeMs: Math.max(config.ADMISSION_LEASE_MS * 0.3, 2 * config.ADMISSION_TICK_MS),
    safetyMs: Math.max(config.ADMISSION_LEASE_MS * 0.1, config.ADMISSION_TICK_MS),
  };
}

/** The lock store counts in whole seconds, and a lease must outlast several ticks. */
export function leaseRule(config: LeaseSettings): string | undefined {
  return validPolicy(leaseOf(config)) && config.ADMISSION_LEASE_MS % 1000 === 0
    ? undefined
    : 'ADMISSION_LEASE_MS is malformed (expected whole seconds, well above ADMISSION_TICK_MS)';
}

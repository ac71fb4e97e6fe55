import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
} from '@reservex/platform/config';
import { z } from 'zod';

export const paymentConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /** Which card network to talk to; only the sandbox exists so far. */
  PAYMENT_PROVIDER: z.enum(['sandbox'], 'sandbox').default('sandbox'),
  /** Retries of a charge the processor could not answer, before the payment fails (PROCESSOR_ERROR). */
  PAYMENT_PROVIDER_RETRIES: intFromString({ min: 0, max: 10 }).default(2),
  PAYMENT_PROVIDER_RETRY_MIN_MS: durationFromString().default(100),
  /** Bound of one provider call: a slower answer counts as a processor error. */
  PAYMENT_PROVIDER_TIMEOUT_MS: durationFromString().default(3000),
  /** How long the sandbox's `tok_slow` card takes to answer. */
  SANDBOX_SLOW_MS: durationFromString().default(1500),
  /** How many attempts of a `tok_processor_flaky` charge fail before it captures. */
  SANDBOX_FLAKY_FAILURES: intFromString({ min: 0, max: 10 }).default(2),
};

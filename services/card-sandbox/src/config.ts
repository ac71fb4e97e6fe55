import { durationFromString, intFromString } from '@reservex/platform/config';
import { z } from 'zod';

/** The sandbox's own settings; the platform adds PORT, LOG_LEVEL, DATABASE_URL and the others. */
export const sandboxConfigShape = {
  /** The secret every caller presents as `Authorization: Bearer …`. */
  SANDBOX_API_KEY: z.string().min(24).describe('an API key of at least 24 characters'),
  /** How long the `tok_slow` card takes to answer. */
  SANDBOX_SLOW_MS: durationFromString().default(1500),
  /** How many attempts of one `tok_processor_flaky` charge fail before it captures. */
  SANDBOX_FLAKY_FAILURES: intFromString({ min: 0, max: 10 }).default(2),
};

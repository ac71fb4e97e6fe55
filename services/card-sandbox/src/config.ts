import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
} from '@reservex/platform/config';
import { z } from 'zod';

export const sandboxConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /** The secret every caller presents as `Authorization: Bearer …`. */
  SANDBOX_API_KEY: z.string().min(24).describe('an API key of at least 24 characters'),
  /** How long the `tok_slow` card takes to answer. */
  SANDBOX_SLOW_MS: durationFromString().default(1500),
  /** How many attempts of one `tok_processor_flaky` charge fail before it captures. */
  SANDBOX_FLAKY_FAILURES: intFromString({ min: 0, max: 10 }).default(2),
};

import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
  urlFromString,
} from '@reservex/platform/config';
import { z } from 'zod';

export const paymentConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /** Which provider API payment speaks; only the card sandbox's (services/card-sandbox) so far. */
  PAYMENT_PROVIDER: z.enum(['sandbox'], 'sandbox').default('sandbox'),
  /** Where the provider answers, e.g. http://card-sandbox:3000 locally or a provider's https URL. */
  PAYMENT_PROVIDER_URL: urlFromString(['http', 'https']),
  /** The provider's API key (secret). */
  PAYMENT_PROVIDER_API_KEY: z.string().min(16).describe('the provider API key, at least 16 characters'),
  /** Retries of a charge the processor could not answer, before the payment fails (PROCESSOR_ERROR). */
  PAYMENT_PROVIDER_RETRIES: intFromString({ min: 0, max: 10 }).default(2),
  PAYMENT_PROVIDER_RETRY_MIN_MS: durationFromString().default(100),
  /** Bound of one provider call: a slower answer counts as a processor error. */
  PAYMENT_PROVIDER_TIMEOUT_MS: durationFromString().default(3000),
  /** How often charges and refunds a crash left unfinished are looked for. */
  PAYMENT_RESOLVE_INTERVAL_MS: durationFromString().default(15_000),
  /**
   * An intent (or an owed refund) older than this is resolved by the background resolver; longer than
   * a handler's whole retry budget, so the resolver does not race a call still under way.
   */
  PAYMENT_RESOLVE_AFTER_MS: durationFromString().default(60_000),
  /**
   * Fault switch for crash tests (0 = off): after the provider answered a charge this process started
   * (not one it resumes), wait this long before recording the answer, the window a test kills it in.
   */
  PAYMENT_FAULT_PAUSE_AFTER_CHARGE_MS: durationFromString().default(0),
};

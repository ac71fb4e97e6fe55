// How the payment service's parts are built from its configuration and the platform; main.ts
// declares the service with them.
import type { ServiceContext } from '@reservex/platform/service';
import { createPaymentApp } from './app.ts';
import type { paymentConfigShape } from './config.ts';
import type { schema } from './db/schema.ts';
import { createHttpProvider } from './domain/http-provider.ts';
import type { SettleDeps } from './events/settle.ts';
import { startResolver } from './resolver.ts';

type Context = ServiceContext<'payment', typeof paymentConfigShape, typeof schema>;
/** What `setup` adds: what charging and refunding need, shared by the handlers and the resolver. */
type Parts = { settle: SettleDeps };

/** The card provider behind its HTTP API, with the retry budget and bound of each call. */
export function settlement({ config: c, eventsDatabase }: Context): Parts {
  return {
    settle: {
      db: eventsDatabase.db,
      provider: createHttpProvider({
        name: c.PAYMENT_PROVIDER,
        baseUrl: c.PAYMENT_PROVIDER_URL,
        apiKey: c.PAYMENT_PROVIDER_API_KEY,
      }),
      retry: {
        retries: c.PAYMENT_PROVIDER_RETRIES,
        minTimeoutMs: c.PAYMENT_PROVIDER_RETRY_MIN_MS,
        attemptTimeoutMs: c.PAYMENT_PROVIDER_TIMEOUT_MS,
      },
      faultPauseAfterChargeMs: c.PAYMENT_FAULT_PAUSE_AFTER_CHARGE_MS,
    },
  };
}

/** A buyer's payment, read-only. */
export function paymentApp({ config, database, readiness }: Context) {
  return createPaymentApp({ db: database.db, bodyLimitBytes: config.BODY_LIMIT_BYTES, readiness });
}

/** Finishes the charges and refunds a crash left unfinished. */
export function resolver({ config, settle }: Context & Parts) {
  return startResolver(settle, {
    intervalMs: config.PAYMENT_RESOLVE_INTERVAL_MS,
    afterMs: config.PAYMENT_RESOLVE_AFTER_MS,
  });
}

// The payment service: charges and refunds through the card provider. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { createPaymentApp } from './app.ts';
import { paymentConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { createHttpProvider } from './domain/http-provider.ts';
import { refundCancelledReservation } from './events/reservation-cancelled.ts';
import { chargeReservation } from './events/stock-reserved.ts';
import { startResolver } from './resolver.ts';

export const service = defineService({
  name: 'payment',
  config: paymentConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: ({ config: c, database }) => ({
    settle: {
      db: database.db,
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
  }),
  app: ({ config, database, readiness }) =>
    createPaymentApp({ db: database.db, bodyLimitBytes: config.BODY_LIMIT_BYTES, readiness }),
  consumes: ({ settle }) => ({
    'stock.reserved': chargeReservation(settle),
    'reservation.cancelled': refundCancelledReservation(settle),
  }),
  relay: true,
  workers: ({ config, settle }) => [
    startResolver(settle, {
      intervalMs: config.PAYMENT_RESOLVE_INTERVAL_MS,
      afterMs: config.PAYMENT_RESOLVE_AFTER_MS,
    }),
  ],
});

await runService(service, import.meta);

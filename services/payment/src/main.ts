// The payment service: charges and refunds through the card provider. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { createPaymentApp } from './app.ts';
import { paymentConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { createSandboxProvider } from './domain/sandbox-provider.ts';
import { refundCancelledReservation } from './events/reservation-cancelled.ts';
import { chargeReservation } from './events/stock-reserved.ts';

export const service = defineService({
  name: 'payment',
  config: paymentConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: ({ config }) => ({
    provider: createSandboxProvider({
      slowResponseMs: config.SANDBOX_SLOW_MS,
      flakyFailures: config.SANDBOX_FLAKY_FAILURES,
    }),
    retry: {
      retries: config.PAYMENT_PROVIDER_RETRIES,
      minTimeoutMs: config.PAYMENT_PROVIDER_RETRY_MIN_MS,
      attemptTimeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS,
    },
  }),
  app: ({ config, database, readiness }) =>
    createPaymentApp({ db: database.db, bodyLimitBytes: config.BODY_LIMIT_BYTES, readiness }),
  consumes: ({ database: { db }, provider, retry }) => ({
    'stock.reserved': chargeReservation({ db, provider, retry }),
    'reservation.cancelled': refundCancelledReservation({ db, provider, retry }),
  }),
  relay: true,
});

await runService(service, import.meta);

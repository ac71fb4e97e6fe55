// The payment service: charges and refunds through the card provider. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { paymentConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { refundCancelledReservation } from './events/reservation-cancelled.ts';
import { chargeReservation } from './events/stock-reserved.ts';
import { paymentApp, resolver, settlement } from './wiring.ts';

export const service = defineService({
  name: 'payment',
  config: paymentConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: settlement,
  app: paymentApp,
  consumes: ({ settle }) => ({
    'stock.reserved': chargeReservation(settle),
    'reservation.cancelled': refundCancelledReservation(settle),
  }),
  relay: true,
  workers: (context) => [resolver(context)],
});

await runService(service, import.meta);

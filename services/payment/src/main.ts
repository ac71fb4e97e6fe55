// The payment service: charges and refunds through the card provider. Run by the platform (`runService`).
import { defineService, inBatches, runService } from '@reservex/platform/service';
import { paymentConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { refundInBatches } from './events/reservation-cancelled.ts';
import { chargeInBatches } from './events/stock-reserved.ts';
import { paymentApp, resolver, settlement } from './wiring.ts';

export const service = defineService({
  name: 'payment',
  config: paymentConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: settlement,
  app: paymentApp,
  // Bulk deliveries: each step of a charge or a cancel done once per delivery (see the handlers).
  consumes: ({ settle }) => ({
    'stock.reserved': inBatches(chargeInBatches(settle)),
    'reservation.cancelled': inBatches(refundInBatches(settle)),
  }),
  relay: true,
  workers: (context) => [resolver(context)],
});

await runService(service, import.meta);

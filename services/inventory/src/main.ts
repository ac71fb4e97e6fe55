// The inventory service: shows, ticket types and stock. Run by the platform (`runService`).
import { defineService, inBatches, runService } from '@reservex/platform/service';
import { createInventoryApp } from './app.ts';
import { inventoryConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { releaseHeldStockInBatches } from './events/reservation-cancelled.ts';
import { sellStockInBatches } from './events/reservation-confirmed.ts';
import { holdStock, holdStockInBatches } from './events/reservation-created.ts';

export const service = defineService({
  name: 'inventory',
  config: inventoryConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: ({ eventsDatabase }) => ({ handlers: { db: eventsDatabase.db, now: () => new Date() } }),
  app: ({ config, database, readiness }) =>
    createInventoryApp({ db: database.db, bodyLimitBytes: config.BODY_LIMIT_BYTES, readiness }),
  consumes: ({ config, handlers }) => ({
    'reservation.created':
      config.INVENTORY_STRATEGY === 'batched'
        ? inBatches(holdStockInBatches(handlers), {
            maxMessages: config.INVENTORY_BATCH_MAX,
            maxAwaitMs: config.INVENTORY_BATCH_WAIT_MS,
          })
        : holdStock(handlers, config.INVENTORY_STRATEGY),
    'reservation.confirmed': inBatches(sellStockInBatches(handlers)),
    'reservation.cancelled': inBatches(releaseHeldStockInBatches(handlers)),
  }),
  relay: true,
  started: (config) => ({ strategy: config.INVENTORY_STRATEGY }),
});

await runService(service, import.meta);

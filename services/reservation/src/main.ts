// The reservation service: the saga's owner. Run by the platform (`runService`).
import { hostname } from 'node:os';
import { passKey } from '@reservex/contracts';
import { defineService, runService } from '@reservex/platform/service';
import { createReservationApp } from './app.ts';
import { createBooking } from './booking.ts';
import { createCatalogue } from './catalogue.ts';
import { passRequirement, reservationConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { onDeadLetter } from './events/dead-letter.ts';
import { onPaymentCompleted } from './events/payment-completed.ts';
import { onPaymentFailed } from './events/payment-failed.ts';
import { onStockFailed } from './events/stock-failed.ts';
import { onStockReserved } from './events/stock-reserved.ts';
import { onTicketIssueFailed } from './events/ticket-issue-failed.ts';
import { onTicketIssued } from './events/ticket-issued.ts';
import { startExpirySweeper } from './expiry.ts';
import { createIdempotency } from './idempotency.ts';

export const service = defineService({
  name: 'reservation',
  config: reservationConfigShape,
  checkConfig: passRequirement,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: ({ config, database }) => ({
    handlers: { db: database.db, now: () => new Date() },
    instanceId: `${config.SERVICE_NAME}-${hostname()}-${process.pid}`,
  }),
  app: ({ config: c, database: { db }, dapr, readiness, instanceId }) =>
    createReservationApp({
      db,
      booking: createBooking({
        db,
        dapr,
        catalogue: createCatalogue({
          invoke: dapr.invoke,
          inventoryAppId: c.INVENTORY_APP_ID,
          cacheMs: c.CATALOGUE_CACHE_MS,
        }),
        stateStore: c.STATESTORE_NAME,
        lockStore: c.LOCKSTORE_NAME,
        passKey: c.REQUIRE_PASS && c.PASS_TOKEN_SECRET ? passKey(c.PASS_TOKEN_SECRET) : undefined,
        holdTtlSeconds: c.HOLD_TTL_SECONDS,
        instanceId,
      }),
      idempotency: createIdempotency({
        state: dapr.state,
        store: c.STATESTORE_NAME,
        ttlSeconds: c.IDEMPOTENCY_TTL_SECONDS,
      }),
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      readiness,
    }),
  consumes: ({ handlers }) => ({
    'stock.reserved': onStockReserved(handlers),
    'stock.failed': onStockFailed(handlers),
    'payment.completed': onPaymentCompleted(handlers),
    'payment.failed': onPaymentFailed(handlers),
    'ticket.issued': onTicketIssued(handlers),
    'ticket.issue.failed': onTicketIssueFailed(handlers),
  }),
  deadLetters: ({ handlers }) => onDeadLetter(handlers),
  relay: true,
  workers: ({ config, database, dapr, instanceId }) => [
    startExpirySweeper({
      db: database.db,
      lock: dapr.lock,
      lockStore: config.LOCKSTORE_NAME,
      instanceId,
      intervalMs: config.EXPIRY_SWEEP_INTERVAL_MS,
    }),
  ],
  started: (config) => ({ hold_ttl_seconds: config.HOLD_TTL_SECONDS, require_pass: config.REQUIRE_PASS }),
});

await runService(service, import.meta);

// How the reservation service's parts are built from its configuration and the platform; main.ts
// declares the service with them.
import { hostname } from 'node:os';
import { passKey } from '@reservex/contracts';
import type { ServiceContext } from '@reservex/platform/service';
import { createReservationApp } from './app.ts';
import { createBooking } from './booking.ts';
import { createCatalogue } from './catalogue.ts';
import type { reservationConfigShape } from './config.ts';
import type * as schema from './db/schema.ts';
import { startExpirySweeper } from './expiry.ts';
import { createIdempotency } from './idempotency.ts';

type Context = ServiceContext<'reservation', typeof reservationConfigShape, typeof schema>;
/** What `setup` adds: the saga handlers' dependencies and this process's name for locks. */
type Parts = { instanceId: string };

/** This process's name in locks and holds: service, host and pid. */
export const instanceIdOf = ({ config }: Context): Parts => ({
  instanceId: `${config.SERVICE_NAME}-${hostname()}-${process.pid}`,
});

/** The booking API: catalogue checks, the one open reservation per user and show, idempotent replies. */
export function reservationApp({ config: c, database: { db }, dapr, readiness }: Context) {
  return createReservationApp({
    db,
    booking: createBooking({
      db,
      catalogue: createCatalogue({
        invoke: dapr.invoke,
        inventoryAppId: c.INVENTORY_APP_ID,
        cacheMs: c.CATALOGUE_CACHE_MS,
      }),
      passKey: c.REQUIRE_PASS && c.PASS_TOKEN_SECRET ? passKey(c.PASS_TOKEN_SECRET) : undefined,
      holdTtlSeconds: c.HOLD_TTL_SECONDS,
    }),
    idempotency: createIdempotency({
      state: dapr.state,
      store: c.STATESTORE_NAME,
      ttlSeconds: c.IDEMPOTENCY_TTL_SECONDS,
    }),
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    readiness,
  });
}

/** Cancels holds that outlived their TTL; one sweeper at a time across replicas (a lock). */
export function expirySweeper({ config, database, dapr, instanceId }: Context & Parts) {
  return startExpirySweeper({
    db: database.db,
    lock: dapr.lock,
    lockStore: config.LOCKSTORE_NAME,
    instanceId,
    intervalMs: config.EXPIRY_SWEEP_INTERVAL_MS,
  });
}

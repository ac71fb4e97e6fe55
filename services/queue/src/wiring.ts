// How the queue service's parts are built from its configuration and the platform; main.ts declares
// the service with them.
import { passKey } from '@reservex/contracts';
import type { ServiceContext } from '@reservex/platform/service';
import { startAdmitter } from './admission/admitter.ts';
import { createQueueApp } from './app.ts';
import { leaseOf, type queueConfigShape } from './config.ts';
import type * as schema from './db/schema.ts';
import { createShowSales } from './shows/show-sales.ts';
import type { WaitingRoom } from './waiting-room/waiting-room.ts';

type Context = ServiceContext<'queue', typeof queueConfigShape, typeof schema> & { room: WaitingRoom };

/** The waiting room's API: joins (for shows on sale), positions and the admission stream. */
export function queueApp({ config: c, room, dapr, readiness }: Context) {
  return createQueueApp({
    room,
    shows: createShowSales({
      invoke: dapr.invoke,
      inventoryAppId: c.INVENTORY_APP_ID,
      cacheMs: c.SHOW_CACHE_MS,
    }),
    passKey: passKey(c.PASS_TOKEN_SECRET),
    stream: {
      pollMs: c.SSE_POLL_INTERVAL_MS,
      heartbeatMs: c.SSE_HEARTBEAT_MS,
      maxDurationMs: c.SSE_MAX_DURATION_MS,
    },
    progress: { pollMs: c.PROGRESS_POLL_INTERVAL_MS, admissionRatePerSecond: c.ADMISSION_RATE },
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    readiness,
  });
}

/** How long a pass lives, and the shortest it may be given back for. */
export const passOf = ({ config: c }: Context) => ({ ttlMs: c.PASS_TTL_SECONDS * 1000, minMs: 10_000 });

/** Admits the waiting at the configured rate, one admitter at a time across replicas (a lease). */
export function admitter({ config: c, room, dapr, log }: Context) {
  return startAdmitter({
    room,
    lock: dapr.lock,
    lockStore: c.LOCKSTORE_NAME,
    lease: leaseOf(c),
    tickMs: c.ADMISSION_TICK_MS,
    ratePerSecond: c.ADMISSION_RATE,
    settings: {
      maxActive: c.MAX_ACTIVE,
      slotLeaseMs: c.PASS_TTL_SECONDS * 1000 + c.SLOT_GRACE_MS,
      passTtlMs: c.PASS_TTL_SECONDS * 1000,
      logMax: c.ADMISSION_LOG_MAX,
    },
    logger: log,
  });
}

// The waiting room in front of each show. Run by the platform (`runService`).
import { passKey } from '@reservex/contracts';
import { defineService, runService } from '@reservex/platform/service';
import { startAdmitter } from './admission/admitter.ts';
import { createQueueApp } from './app.ts';
import { leaseOf, leaseRule, queueConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { freeSlotOnReservationEnd } from './events/reservation-ended.ts';
import { createShowSales } from './shows/show-sales.ts';
import { createWaitingRoom } from './waiting-room/waiting-room.ts';

export const service = defineService({
  name: 'queue',
  config: queueConfigShape,
  checkConfig: leaseRule,
  database: { schema, migrations: new URL('../drizzle', import.meta.url), poolSize: 4 },
  redis: { maxRetriesPerRequest: 2, commandTimeout: 2000 },
  setup: ({ redis }) => ({ room: createWaitingRoom(redis) }),
  app: ({ config: c, room, dapr, readiness }) =>
    createQueueApp({
      room,
      shows: createShowSales({
        invoke: dapr.invoke,
        inventoryAppId: c.INVENTORY_APP_ID,
        cacheMs: c.SHOW_CACHE,
      }),
      passKey: passKey(c.PASS_TOKEN_SECRET),
      stream: {
        pollMs: c.SSE_POLL_INTERVAL,
        heartbeatMs: c.SSE_HEARTBEAT,
        maxDurationMs: c.SSE_MAX_DURATION,
      },
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      readiness,
    }),
  consumes: ({ config: c, database, room }) => {
    const pass = { ttlMs: c.PASS_TTL_SECONDS * 1000, minMs: 10_000 };
    const freeSlot = freeSlotOnReservationEnd({ db: database.db, room, pass });
    return { 'reservation.confirmed': freeSlot, 'reservation.cancelled': freeSlot };
  },
  workers: ({ config: c, room, dapr, log }) => [
    startAdmitter({
      room,
      lock: dapr.lock,
      lockStore: c.LOCKSTORE_NAME,
      lease: leaseOf(c),
      tickMs: c.ADMISSION_TICK,
      ratePerSecond: c.ADMISSION_RATE,
      settings: {
        maxActive: c.MAX_ACTIVE,
        slotLeaseMs: c.PASS_TTL_SECONDS * 1000 + c.SLOT_GRACE,
        passTtlMs: c.PASS_TTL_SECONDS * 1000,
        logMax: c.ADMISSION_LOG_MAX,
      },
      logger: log,
    }),
  ],
});

await runService(service, import.meta);

// The waiting room in front of each show. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { leaseRule, queueConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { freeSlotOnReservationEnd } from './events/reservation-ended.ts';
import { createWaitingRoom } from './waiting-room/waiting-room.ts';
import { admitter, passOf, queueApp } from './wiring.ts';

export const service = defineService({
  name: 'queue',
  config: queueConfigShape,
  checkConfig: leaseRule,
  database: { schema, migrations: new URL('../drizzle', import.meta.url), poolSize: 4 },
  redis: { maxRetriesPerRequest: 2, commandTimeout: 2000 },
  setup: ({ redis }) => ({ room: createWaitingRoom(redis) }),
  app: queueApp,
  consumes: (context) => {
    const freeSlot = freeSlotOnReservationEnd({
      db: context.database.db,
      room: context.room,
      pass: passOf(context),
    });
    return { 'reservation.confirmed': freeSlot, 'reservation.cancelled': freeSlot };
  },
  workers: (context) => [admitter(context)],
});

await runService(service, import.meta);

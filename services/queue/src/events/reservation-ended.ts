// A confirmed reservation ends its buyer's visit: the slot goes to the next in line. A cancelled one
// (sold out, declined, cancelled) does not: the buyer gets a fresh pass for the rest of the visit and
// may book again at once, instead of holding a slot with a spent pass. The inbox makes a redelivered
// event a no-op; the scripts keep a later admission of the same user (a new visit) untouched.
import type { EventOf } from '@reservex/contracts';
import type { Executor } from '@reservex/platform/db';
import type { DeliveryContext } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import type { WaitingRoom } from '../waiting-room/waiting-room.ts';

export function freeSlotOnReservationEnd(deps: {
  db: Executor;
  room: WaitingRoom;
  /** The pass a failed booking gets back: its lifetime, and the least worth handing out. */
  pass: { ttlMs: number; minMs: number };
}) {
  return async (
    event: EventOf<'reservation.confirmed'> | EventOf<'reservation.cancelled'>,
    ctx: DeliveryContext,
  ) => {
    const outcome = await handleOnce(
      deps.db,
      { consumer: `${ctx.consumer}.free-slot`, eventId: ctx.id, topic: ctx.topic },
      async () => {
        const endedAtMs = Date.parse(event.occurredAt);
        if ('reason' in event) {
          const outcome = await deps.room.renew(event.showId, event.userId, endedAtMs, deps.pass);
          ctx.log.info(
            { show_id: event.showId, reservation_id: event.reservationId, outcome },
            'booking failed; pass given back',
          );
          return;
        }
        const freed = await deps.room.release(event.showId, event.userId, endedAtMs);
        ctx.log.info({ show_id: event.showId, reservation_id: event.reservationId, freed }, 'visit ended');
      },
    );
    if (outcome === 'duplicate') ctx.log.debug({ event_id: ctx.id }, 'duplicate delivery ignored');
  };
}

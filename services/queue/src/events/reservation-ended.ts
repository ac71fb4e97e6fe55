// A confirmed or cancelled reservation ends its buyer's visit: the slot goes to the next in line.
// The inbox makes a redelivered event a no-op; the release script keeps a later admission of the
// same user (a new visit) untouched.
import type { EventOf } from '@reservex/contracts';
import type { Executor } from '@reservex/platform/db';
import type { DeliveryContext } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import type { WaitingRoom } from '../waiting-room/waiting-room.ts';

export function freeSlotOnReservationEnd(deps: { db: Executor; room: WaitingRoom }) {
  return async (
    event: EventOf<'reservation.confirmed'> | EventOf<'reservation.cancelled'>,
    ctx: DeliveryContext,
  ) => {
    const outcome = await handleOnce(
      deps.db,
      { consumer: `${ctx.consumer}.free-slot`, eventId: ctx.id, topic: ctx.topic },
      async () => {
        const freed = await deps.room.release(event.showId, event.userId, Date.parse(event.occurredAt));
        ctx.log.info({ show_id: event.showId, reservation_id: event.reservationId, freed }, 'visit ended');
      },
    );
    if (outcome === 'duplicate') ctx.log.debug({ event_id: ctx.id }, 'duplicate delivery ignored');
  };
}

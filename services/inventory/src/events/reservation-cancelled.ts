// reservation.cancelled → give a held quantity back (stock.released), or leave a tombstone so the
// reservation.created still on its way can never take stock.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { releaseStock } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function releaseHeldStock(deps: HandlerContext) {
  return async (event: EventOf<'reservation.cancelled'>, ctx: DeliveryContext) => {
    const attributes = sagaAttributes({ step: 'stock.release', reservationId: event.reservationId });
    await withSpan('stock release', attributes, async (span) => {
      const outcome = await handleOnce(
        deps.db,
        { consumer: CONSUMER, eventId: ctx.id, topic: ctx.topic },
        async (tx) => {
          const booking = {
            reservationId: event.reservationId,
            showId: event.showId,
            ticketTypeId: event.ticketTypeId,
            quantity: event.quantity,
          };
          const result = await releaseStock(tx, booking);
          span.setAttribute('stock.outcome', result.kind);
          if (result.kind === 'ignored') {
            ctx.log.info({ reservation_id: event.reservationId, why: result.why }, 'nothing to release');
            return;
          }
          await enqueue(
            tx,
            'stock.released',
            {
              schemaVersion: 1,
              ...booking,
              quantity: result.quantity,
              userId: event.userId,
              occurredAt: deps.now().toISOString(),
            },
            { partitionKey: event.reservationId },
          );
        },
      );
      span.setAttribute('inbox.outcome', outcome);
    });
  };
}

// reservation.confirmed → the held tickets are sold.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { sellHeldStock } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function sellStock(deps: HandlerContext) {
  return async (event: EventOf<'reservation.confirmed'>, ctx: DeliveryContext) => {
    const attributes = sagaAttributes({ step: 'stock.sell', reservationId: event.reservationId });
    await withSpan('stock sell', attributes, async (span) => {
      const outcome = await handleOnce(
        deps.db,
        { consumer: CONSUMER, eventId: ctx.id, topic: ctx.topic },
        async (tx) => {
          const result = await sellHeldStock(tx, event.reservationId);
          span.setAttribute('stock.outcome', result.kind);
          if (result.kind === 'ignored') {
            ctx.log.warn({ reservation_id: event.reservationId, why: result.why }, 'confirmation ignored');
          }
        },
      );
      span.setAttribute('inbox.outcome', outcome);
    });
  };
}

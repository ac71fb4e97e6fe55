// stock.reserved → AWAITING_PAYMENT.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onStockReserved(deps: HandlerContext) {
  return (event: EventOf<'stock.reserved'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'stock.reserved' }, ctx, {
      step: 'reservation.stock-reserved',
      facts: event,
    });
}

// stock.failed → CANCELLED(SOLD_OUT or NOT_AVAILABLE, stock): nothing was held, nothing else to undo.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onStockFailed(deps: HandlerContext) {
  return (event: EventOf<'stock.failed'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'stock.failed', reason: event.reason }, ctx, {
      step: 'reservation.cancel',
      facts: event,
    });
}

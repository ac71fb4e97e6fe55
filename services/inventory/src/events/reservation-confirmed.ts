// reservation.confirmed → the held tickets are sold, a bulk delivery in one transaction (an event
// handed over alone is a delivery of one).
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { eachOnceInOneTransaction } from '@reservex/platform/inbox';
import { type Span, sagaAttributes } from '@reservex/platform/telemetry';
import type { InventoryDatabase } from '../db/catalogue.ts';
import { lockHoldsAndStock, type SellOutcome, sellHeldStock } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

/** One transaction per bulk delivery: the holds and ticket types locked first, then each sale. */
export function sellStockInBatches(deps: HandlerContext) {
  return eachOnceInOneTransaction<'reservation.confirmed', InventoryDatabase>(deps.db, CONSUMER, {
    lock: (tx, events) => lockHoldsAndStock(tx, events),
    apply: async (tx, event, ctx, span) => {
      span.setAttributes(attributesOf(event));
      report(event, await sellHeldStock(tx, event.reservationId), span, ctx);
    },
  });
}

const attributesOf = (event: EventOf<'reservation.confirmed'>) =>
  sagaAttributes({ step: 'stock.sell', reservationId: event.reservationId });

function report(
  event: EventOf<'reservation.confirmed'>,
  result: SellOutcome,
  span: Span,
  ctx: Pick<DeliveryContext, 'log'>,
): void {
  span.setAttribute('stock.outcome', result.kind);
  if (result.kind === 'ignored') {
    ctx.log.warn({ reservation_id: event.reservationId, why: result.why }, 'confirmation ignored');
  }
}

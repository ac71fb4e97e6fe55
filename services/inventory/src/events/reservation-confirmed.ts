// reservation.confirmed → the held tickets are sold, a bulk delivery in one transaction (an event
// handed over alone is a delivery of one).
import type { EventOf } from '@reservex/contracts';
import type { BatchEntry, DeliveryContext } from '@reservex/platform/events';
import { handleEachOnce, inboxKeyOf } from '@reservex/platform/inbox';
import { type Span, sagaAttributes } from '@reservex/platform/telemetry';
import { type SellOutcome, sellHeldStockBatch } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function sellStockInBatches(deps: HandlerContext) {
  return async (entries: BatchEntry<'reservation.confirmed'>[]) => {
    const keys = entries.map((entry) => ({ ...inboxKeyOf(CONSUMER, entry), entry }));
    await handleEachOnce(deps.db, keys, async (tx, fresh) => {
      const results = await sellHeldStockBatch(
        tx,
        fresh.map(({ entry }) => entry.event),
      );
      fresh.forEach(({ entry }, index) => {
        entry.within((span) => {
          span.setAttributes(attributesOf(entry.event));
          report(entry.event, results[index]!, span, entry.ctx);
        });
      });
    });
  };
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

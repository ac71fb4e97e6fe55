// reservation.cancelled → give a held quantity back (stock.released), or leave a tombstone so the
// reservation.created still on its way can never take stock. A bulk delivery in one transaction (an
// event handed over alone is a delivery of one), each answer written to the outbox with the inbox row.
import { type EventOf, nothingToUndo } from '@reservex/contracts';
import { type BatchEntry, type DeliveryContext, skipping } from '@reservex/platform/events';
import { handleEachOnce, inboxKeyOf } from '@reservex/platform/inbox';
import { enqueueAll, type OutboxEntry, outboxEntry } from '@reservex/platform/outbox';
import { type Span, sagaAttributes } from '@reservex/platform/telemetry';
import { holdRequestOf, type ReleaseOutcome, releaseStockBatch } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function releaseHeldStockInBatches(deps: HandlerContext) {
  return skipping(refusedHere, async (entries: BatchEntry<'reservation.cancelled'>[]) => {
    const keys = entries.map((entry) => ({ ...inboxKeyOf(CONSUMER, entry), entry }));
    await handleEachOnce(deps.db, keys, async (tx, fresh) => {
      const results = await releaseStockBatch(
        tx,
        fresh.map(({ entry }) => holdRequestOf(entry.event)),
      );
      const now = deps.now();
      const answers = fresh.flatMap(({ entry }, index) =>
        entry.within((span) => {
          span.setAttributes(attributesOf(entry.event));
          return answerTo(entry.event, results[index]!, now, span, entry.ctx) ?? [];
        }),
      );
      await enqueueAll(tx, answers);
    });
  });
}

/**
 * A cancel of a saga this service refused (stock.failed: most of a sold-out sale's) finds nothing
 * held, and the reservation.created it answered has been handled, so no tombstone is needed either.
 */
const refusedHere = (event: EventOf<'reservation.cancelled'>) =>
  nothingToUndo(event, 'stock')
    ? { ...attributesOf(event), 'stock.outcome': 'refused here: nothing held' }
    : undefined;

const attributesOf = (event: EventOf<'reservation.cancelled'>) =>
  sagaAttributes({ step: 'stock.release', reservationId: event.reservationId });

/** stock.released for a quantity given back, made in the event's trace; none when nothing was held. */
function answerTo(
  event: EventOf<'reservation.cancelled'>,
  result: ReleaseOutcome,
  now: Date,
  span: Span,
  ctx: Pick<DeliveryContext, 'log'>,
): OutboxEntry | undefined {
  span.setAttribute('stock.outcome', result.kind);
  if (result.kind === 'ignored') {
    ctx.log.info({ reservation_id: event.reservationId, why: result.why }, 'nothing to release');
    return undefined;
  }
  return outboxEntry(
    'stock.released',
    {
      schemaVersion: 1,
      ...holdRequestOf(event),
      quantity: result.quantity,
      userId: event.userId,
      occurredAt: now.toISOString(),
    },
    { partitionKey: event.reservationId },
  );
}

// reservation.created → take N of the ticket type on hold → stock.reserved, or stock.failed saying why.
// One request per transaction (atomic, pessimistic), or a bulk-subscribed batch per transaction
// (batched); either way each request's answer is written to the outbox with the inbox row.
import type { EventOf } from '@reservex/contracts';
import type { BatchEntry, DeliveryContext } from '@reservex/platform/events';
import { handleEachOnce, handleOnce } from '@reservex/platform/inbox';
import { enqueueAll, type OutboxEntry, outboxEntry } from '@reservex/platform/outbox';
import { type Span, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { holdRequestOf, type ReserveOutcome, reserveBatch, reserveStock } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function holdStock(deps: HandlerContext, strategy: 'atomic' | 'pessimistic') {
  return async (event: EventOf<'reservation.created'>, ctx: DeliveryContext) => {
    const attributes = sagaAttributes({ step: 'stock.hold', reservationId: event.reservationId });
    await withSpan('stock hold', attributes, async (span) => {
      const outcome = await handleOnce(
        deps.db,
        { consumer: CONSUMER, eventId: ctx.id, topic: ctx.topic },
        async (tx) => {
          const result = await reserveStock(tx, strategy, holdRequestOf(event), deps.now());
          const answer = answerTo(event, result, deps.now(), span, ctx);
          if (answer) await enqueueAll(tx, [answer]);
        },
      );
      span.setAttribute('inbox.outcome', outcome);
    });
  };
}

export function holdStockInBatches(deps: HandlerContext) {
  return async (entries: BatchEntry<'reservation.created'>[]) => {
    const keys = entries.map((entry) => ({
      consumer: CONSUMER,
      eventId: entry.ctx.id,
      topic: entry.ctx.topic,
      entry,
    }));
    await handleEachOnce(deps.db, keys, async (tx, fresh) => {
      const now = deps.now();
      const results = await reserveBatch(
        tx,
        fresh.map(({ entry }) => holdRequestOf(entry.event)),
        now,
      );
      const answers = fresh.flatMap(({ entry }, index) =>
        entry.within((span) => {
          span.setAttributes({
            ...sagaAttributes({ step: 'stock.hold', reservationId: entry.event.reservationId }),
            'stock.batch.size': fresh.length,
          });
          return answerTo(entry.event, results[index]!, now, span, entry.ctx) ?? [];
        }),
      );
      await enqueueAll(tx, answers);
    });
  };
}

/** The event that answers a hold request, made in the request's trace; none when it was ignored. */
function answerTo(
  event: EventOf<'reservation.created'>,
  result: ReserveOutcome,
  now: Date,
  span: Span,
  ctx: DeliveryContext,
): OutboxEntry | undefined {
  const ref = {
    schemaVersion: 1 as const,
    ...holdRequestOf(event),
    userId: event.userId,
    occurredAt: now.toISOString(),
  };
  const options = { partitionKey: event.reservationId };
  span.setAttribute('stock.outcome', result.kind === 'refused' ? result.reason : result.kind);
  switch (result.kind) {
    case 'held':
      return outboxEntry(
        'stock.reserved',
        {
          ...ref,
          unitPriceMinor: result.ticketType.priceMinor,
          amountMinor: result.ticketType.priceMinor * event.quantity,
          currency: result.ticketType.currency,
          paymentMethod: event.paymentMethod,
        },
        options,
      );
    case 'refused':
      return outboxEntry(
        'stock.failed',
        {
          ...ref,
          reason: result.reason,
          ...(result.available === undefined ? {} : { available: result.available }),
        },
        options,
      );
    case 'ignored':
      ctx.log.info({ reservation_id: event.reservationId, why: result.why }, 'hold request ignored');
      return undefined;
    default: {
      const unknown: never = result;
      throw new Error(`unhandled outcome ${JSON.stringify(unknown)}`);
    }
  }
}

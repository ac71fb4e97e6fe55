// reservation.created → take N of the ticket type on hold → stock.reserved, or stock.failed saying why.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { reserveStock } from '../db/holds.ts';
import { CONSUMER, type HandlerContext } from './context.ts';

export function holdStock(deps: HandlerContext) {
  return async (event: EventOf<'reservation.created'>, ctx: DeliveryContext) => {
    const attributes = sagaAttributes({ step: 'stock.hold', reservationId: event.reservationId });
    await withSpan('stock hold', attributes, async (span) => {
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
          const result = await reserveStock(tx, deps.strategy, booking, deps.now());
          const ref = {
            schemaVersion: 1 as const,
            ...booking,
            userId: event.userId,
            occurredAt: deps.now().toISOString(),
          };
          span.setAttribute('stock.outcome', result.kind === 'refused' ? result.reason : result.kind);
          switch (result.kind) {
            case 'held':
              await enqueue(
                tx,
                'stock.reserved',
                {
                  ...ref,
                  unitPriceMinor: result.ticketType.priceMinor,
                  amountMinor: result.ticketType.priceMinor * event.quantity,
                  currency: result.ticketType.currency,
                  paymentMethod: event.paymentMethod,
                },
                { partitionKey: event.reservationId },
              );
              return;
            case 'refused':
              await enqueue(
                tx,
                'stock.failed',
                {
                  ...ref,
                  reason: result.reason,
                  ...(result.available === undefined ? {} : { available: result.available }),
                },
                { partitionKey: event.reservationId },
              );
              return;
            case 'ignored':
              ctx.log.info({ reservation_id: event.reservationId, why: result.why }, 'hold request ignored');
              return;
            default: {
              const unknown: never = result;
              throw new Error(`unhandled outcome ${JSON.stringify(unknown)}`);
            }
          }
        },
      );
      span.setAttribute('inbox.outcome', outcome);
    });
  };
}

// payment.completed → AWAITING_TICKETS.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onPaymentCompleted(deps: HandlerContext) {
  return (event: EventOf<'payment.completed'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'payment.completed' }, ctx, {
      step: 'reservation.paid',
      facts: event,
    });
}

// payment.failed → CANCELLED(PAYMENT_DECLINED | PAYMENT_FAILED, payment); inventory releases the hold.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onPaymentFailed(deps: HandlerContext) {
  return (event: EventOf<'payment.failed'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'payment.failed', reason: event.reason }, ctx, {
      step: 'reservation.cancel',
      facts: event,
    });
}

// payment.failed → CANCELLED(PAYMENT_DECLINED | PAYMENT_FAILED, payment); inventory releases the hold.
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const paymentFailed: SagaStepOf<'payment.failed'> = (event) => ({
  input: { type: 'payment.failed', reason: event.reason },
  step: 'reservation.cancel',
  facts: event,
});

export const onPaymentFailed = (deps: HandlerContext) => sagaHandler(deps, paymentFailed);

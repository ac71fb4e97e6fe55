// payment.completed → AWAITING_TICKETS.
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const paymentCompleted: SagaStepOf<'payment.completed'> = (event) => ({
  input: { type: 'payment.completed' },
  step: 'reservation.paid',
  facts: event,
});

export const onPaymentCompleted = (deps: HandlerContext) => sagaHandler(deps, paymentCompleted);

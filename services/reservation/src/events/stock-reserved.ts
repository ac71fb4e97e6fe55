// stock.reserved → AWAITING_PAYMENT.
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const stockReserved: SagaStepOf<'stock.reserved'> = (event) => ({
  input: { type: 'stock.reserved' },
  step: 'reservation.stock-reserved',
  facts: event,
});

export const onStockReserved = (deps: HandlerContext) => sagaHandler(deps, stockReserved);

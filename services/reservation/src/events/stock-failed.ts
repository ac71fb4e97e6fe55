// stock.failed → CANCELLED(SOLD_OUT or NOT_AVAILABLE, stock): nothing was held, nothing else to undo.
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const stockFailed: SagaStepOf<'stock.failed'> = (event) => ({
  input: { type: 'stock.failed', reason: event.reason },
  step: 'reservation.cancel',
  facts: event,
});

export const onStockFailed = (deps: HandlerContext) => sagaHandler(deps, stockFailed);

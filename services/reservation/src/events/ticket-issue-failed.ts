// ticket.issue.failed → CANCELLED(TICKET_FAILED, ticket); payment refunds, inventory releases.
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const ticketIssueFailed: SagaStepOf<'ticket.issue.failed'> = (event) => ({
  input: { type: 'ticket.issue.failed', reason: event.reason },
  step: 'reservation.cancel',
  facts: event,
});

export const onTicketIssueFailed = (deps: HandlerContext) => sagaHandler(deps, ticketIssueFailed);

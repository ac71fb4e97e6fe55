// ticket.issued → CONFIRMED → reservation.confirmed (inventory sells the hold).
import { type HandlerContext, type SagaStepOf, sagaHandler } from './apply.ts';

export const ticketIssued: SagaStepOf<'ticket.issued'> = (event) => ({
  input: { type: 'ticket.issued' },
  step: 'reservation.confirm',
  facts: event,
});

export const onTicketIssued = (deps: HandlerContext) => sagaHandler(deps, ticketIssued);

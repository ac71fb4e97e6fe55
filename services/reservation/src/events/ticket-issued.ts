// ticket.issued → CONFIRMED → reservation.confirmed (inventory sells the hold).
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onTicketIssued(deps: HandlerContext) {
  return (event: EventOf<'ticket.issued'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'ticket.issued' }, ctx, {
      step: 'reservation.confirm',
      facts: event,
    });
}

// ticket.issue.failed → CANCELLED(TICKET_FAILED, ticket); payment refunds, inventory releases.
import type { EventOf } from '@reservex/contracts';
import type { DeliveryContext } from '@reservex/platform/events';
import { applyToSaga, type HandlerContext } from './apply.ts';

export function onTicketIssueFailed(deps: HandlerContext) {
  return (event: EventOf<'ticket.issue.failed'>, ctx: DeliveryContext) =>
    applyToSaga(deps, event.reservationId, { type: 'ticket.issue.failed', reason: event.reason }, ctx, {
      step: 'reservation.cancel',
      facts: event,
    });
}

// A participant's event is believed only if its facts agree with the reservation's own: the same
// user, show, ticket type and quantity, and for ticket.issued one ticket per seat. A signed event
// whose facts disagree is a bug or a replay against another saga; it is refused (dead-lettered with
// this reason), never applied.
import type { EventOf } from '@reservex/contracts';

export type Booking = { userId: string; showId: string; ticketTypeId: string; quantity: number };

export type ParticipantEvent = EventOf<
  | 'stock.reserved'
  | 'stock.failed'
  | 'payment.completed'
  | 'payment.failed'
  | 'ticket.issued'
  | 'ticket.issue.failed'
>;

/** Why `event` cannot be about `reservation`; undefined when its facts agree. */
export function implausibility(reservation: Booking, event: ParticipantEvent): string | undefined {
  const differing = (['userId', 'showId', 'ticketTypeId', 'quantity'] as const).filter(
    (fact) => event[fact] !== reservation[fact],
  );
  if (differing.length > 0) return `its ${differing.join(', ')} differ from the reservation's`;
  if ('ticketIds' in event && new Set(event.ticketIds).size !== reservation.quantity)
    return `${new Set(event.ticketIds).size} distinct tickets for ${reservation.quantity} seats`;
  return undefined;
}

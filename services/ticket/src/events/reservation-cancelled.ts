// reservation.cancelled → remember the cancel (tombstone: no ticket afterwards) and void the
// reservation's tickets → ticket.voided (only when there was something to void).
import type { EventOf } from '@reservex/contracts';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { lockReservation, recordCancellation, type TicketDb, ticketsOf, voidTickets } from '../db/tickets.ts';
import { type TicketId, ticketsToVoid } from '../domain/issuing.ts';

export const VOID_CONSUMER = 'ticket.void';

export function voidCancelledTickets(deps: { db: TicketDb }) {
  return (event: EventOf<'reservation.cancelled'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'ticket void',
      sagaAttributes({ step: 'ticket.void', reservationId: event.reservationId }),
      async (span) =>
        handleOnce(
          deps.db,
          { consumer: VOID_CONSUMER, eventId: delivery.id, topic: 'reservation.cancelled' },
          async (tx) => {
            await lockReservation(tx, event.reservationId);
            await recordCancellation(tx, {
              reservationId: event.reservationId,
              reason: event.reason,
              cancelledAt: new Date(event.occurredAt),
            });
            const toVoid = ticketsToVoid(
              (await ticketsOf(tx, event.reservationId)).map((ticket) => ({
                ...ticket,
                id: ticket.id as TicketId,
              })),
            );
            span.setAttribute('ticket.voided', toVoid.length);
            const voided = await voidTickets(tx, event.reservationId, toVoid);
            if (voided.length === 0) return;
            await enqueue(
              tx,
              'ticket.voided',
              {
                schemaVersion: 1,
                reservationId: event.reservationId,
                occurredAt: (voided[0]?.voidedAt ?? new Date()).toISOString(),
                ticketIds: voided.map((ticket) => ticket.id),
              },
              { partitionKey: event.reservationId },
            );
          },
        ),
    );
}

// reservation.cancelled → remember the cancel (tombstone: no ticket afterwards) and void the
// reservation's tickets → ticket.voided (only when there was something to void).
import { type EventOf, nothingToUndo } from '@reservex/contracts';
import { type BatchHandler, skipping } from '@reservex/platform/events';
import { eachOnceInOneTransaction, handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { type Span, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  lockReservation,
  lockReservations,
  recordCancellation,
  type TicketDb,
  type TicketTx,
  ticketsOf,
  voidTickets,
} from '../db/tickets.ts';
import { type TicketId, ticketsToVoid } from '../domain/issuing.ts';

export const VOID_CONSUMER = 'ticket.void';

/** Why a cancel of a saga refused by the stock or the payment leaves no ticket: see `nothingToUndo`. */
const neverAsked = (event: EventOf<'reservation.cancelled'>) =>
  nothingToUndo(event, 'ticket')
    ? {
        ...sagaAttributes({ step: 'ticket.void', reservationId: event.reservationId }),
        'ticket.decision': 'nothing to undo: the saga ended before any ticket was asked for',
      }
    : undefined;

export function voidCancelledTickets(deps: { db: TicketDb }) {
  return (event: EventOf<'reservation.cancelled'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'ticket void',
      sagaAttributes({ step: 'ticket.void', reservationId: event.reservationId }),
      async (span) => {
        const why = neverAsked(event);
        if (why) {
          span.setAttributes(why);
          return 'handled';
        }
        return handleOnce(
          deps.db,
          { consumer: VOID_CONSUMER, eventId: delivery.id, topic: 'reservation.cancelled' },
          async (tx) => {
            await lockReservation(tx, event.reservationId);
            await voidTicketsOf(tx, event, span);
          },
        );
      },
    );
}

/** A bulk delivery in one transaction, the reservations' locks taken first in a fixed order. */
export function voidCancelledTicketsInBatches(deps: { db: TicketDb }): BatchHandler<'reservation.cancelled'> {
  return skipping(
    neverAsked,
    eachOnceInOneTransaction<'reservation.cancelled', TicketDb>(deps.db, VOID_CONSUMER, {
      lock: (tx, events) =>
        lockReservations(
          tx,
          events.map((event) => event.reservationId),
        ),
      apply: (tx, event, _ctx, span) => {
        span.setAttributes(sagaAttributes({ step: 'ticket.void', reservationId: event.reservationId }));
        return voidTicketsOf(tx, event, span);
      },
    }),
  );
}

/** Leaves the tombstone and voids what was issued; the caller holds the reservation's lock. */
async function voidTicketsOf(tx: TicketTx, event: EventOf<'reservation.cancelled'>, span: Span) {
  await recordCancellation(tx, {
    reservationId: event.reservationId,
    reason: event.reason,
    cancelledAt: new Date(event.occurredAt),
  });
  const toVoid = ticketsToVoid(
    (await ticketsOf(tx, event.reservationId)).map((ticket) => ({ ...ticket, id: ticket.id as TicketId })),
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
}

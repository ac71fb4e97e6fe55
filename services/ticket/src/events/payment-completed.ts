// payment.completed → issue one ticket per seat, once → ticket.issued; a show locked for issuing →
// ticket.issue.failed. No ticket for a reservation whose cancel arrived first.
import type { EventOf } from '@reservex/contracts';
import type { BatchHandler } from '@reservex/platform/events';
import { eachOnceInOneTransaction, handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { type Span, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  insertTickets,
  isShowLocked,
  issuingRecord,
  lockReservation,
  lockReservations,
  recordIssuance,
  type TicketDb,
  type TicketTx,
} from '../db/tickets.ts';
import { onPaymentCompleted } from '../domain/issuing.ts';
import { newTicketCode } from '../domain/ticket-code.ts';

export type IssueDeps = {
  db: TicketDb;
  /** Shows locked by configuration (TICKET_ISSUING_LOCKED_SHOWS), on top of the operator's switch. */
  lockedShows: ReadonlySet<string>;
};

export const ISSUE_CONSUMER = 'ticket.issue';

export function issueTickets(deps: IssueDeps) {
  return (event: EventOf<'payment.completed'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'ticket issue',
      sagaAttributes({ step: 'ticket', reservationId: event.reservationId }),
      async (span) =>
        handleOnce(
          deps.db,
          { consumer: ISSUE_CONSUMER, eventId: delivery.id, topic: 'payment.completed' },
          async (tx) => {
            await lockReservation(tx, event.reservationId);
            await issue(tx, deps, event, span);
          },
        ),
    );
}

/**
 * A bulk delivery in one transaction: the reservations' locks first (in a fixed order), then each
 * payment's tickets as `issueTickets` issues them, in delivery order.
 */
export function issueTicketsInBatches(deps: IssueDeps): BatchHandler<'payment.completed'> {
  return eachOnceInOneTransaction<'payment.completed', TicketDb>(deps.db, ISSUE_CONSUMER, {
    lock: (tx, events) =>
      lockReservations(
        tx,
        events.map((event) => event.reservationId),
      ),
    apply: (tx, event, _ctx, span) => {
      span.setAttributes(sagaAttributes({ step: 'ticket', reservationId: event.reservationId }));
      return issue(tx, deps, event, span);
    },
  });
}

/** Issues the tickets of a paid reservation, or refuses them; the caller holds its lock. */
async function issue(tx: TicketTx, deps: IssueDeps, event: EventOf<'payment.completed'>, span: Span) {
  const decision = onPaymentCompleted(await issuingRecord(tx, event.reservationId), {
    quantity: event.quantity,
    showLockedForIssuing: deps.lockedShows.has(event.showId) || (await isShowLocked(tx, event.showId)),
  });
  span.setAttribute('ticket.decision', decision.action === 'skip' ? decision.why : decision.action);
  const booking = {
    schemaVersion: 1 as const,
    reservationId: event.reservationId,
    userId: event.userId,
    showId: event.showId,
    ticketTypeId: event.ticketTypeId,
    quantity: event.quantity,
  };
  switch (decision.action) {
    case 'skip':
      return;
    case 'refuse': {
      const decidedAt = await recordIssuance(tx, {
        reservationId: event.reservationId,
        outcome: 'failed',
        reason: decision.reason,
      });
      await enqueue(
        tx,
        'ticket.issue.failed',
        { ...booking, occurredAt: decidedAt.toISOString(), reason: decision.reason },
        { partitionKey: event.reservationId },
      );
      return;
    }
    case 'issue': {
      const decidedAt = await recordIssuance(tx, { reservationId: event.reservationId, outcome: 'issued' });
      const issued = await insertTickets(
        tx,
        Array.from({ length: decision.seats }, (_, index) => ({
          reservationId: event.reservationId,
          seat: index + 1,
          userId: event.userId,
          showId: event.showId,
          ticketTypeId: event.ticketTypeId,
          code: newTicketCode(),
        })),
      );
      await enqueue(
        tx,
        'ticket.issued',
        { ...booking, occurredAt: decidedAt.toISOString(), ticketIds: issued.map((ticket) => ticket.id) },
        { partitionKey: event.reservationId },
      );
      return;
    }
    default:
      return decision satisfies never;
  }
}

// What the ticket participant does for each saga event, given what it already recorded for the
// reservation. Events arrive in any order and possibly twice.
import type { Brand } from './brand.ts';

export type TicketId = Brand<string, 'TicketId'>;

export type TicketStatus = 'valid' | 'admitted' | 'voided';

/** What the service has recorded for one reservation. */
export type IssuingRecord = {
  cancelled: boolean;
  issuance: 'issued' | 'failed' | undefined;
};

export type OnPaymentCompleted =
  | { action: 'issue'; seats: number }
  | { action: 'refuse'; reason: string }
  | { action: 'skip'; why: 'cancelled-before-issue' | 'already-issued' | 'already-refused' };

/** payment.completed: one ticket per seat, once; never for a cancelled reservation. */
export function onPaymentCompleted(
  record: IssuingRecord,
  order: { quantity: number; showLockedForIssuing: boolean },
): OnPaymentCompleted {
  switch (record.issuance) {
    case 'issued':
      return { action: 'skip', why: 'already-issued' };
    case 'failed':
      return { action: 'skip', why: 'already-refused' };
    case undefined:
      break;
    default:
      return assertNever(record.issuance);
  }
  if (record.cancelled) return { action: 'skip', why: 'cancelled-before-issue' };
  if (order.showLockedForIssuing) return { action: 'refuse', reason: 'SHOW_LOCKED_FOR_ISSUING' };
  return { action: 'issue', seats: order.quantity };
}

/** reservation.cancelled voids every ticket of the reservation not voided yet (admitted ones too). */
export function ticketsToVoid<T extends { id: TicketId; status: TicketStatus }>(
  tickets: readonly T[],
): TicketId[] {
  return tickets.filter((ticket) => ticket.status !== 'voided').map((ticket) => ticket.id);
}

export type ScanRefusal =
  | { problem: 'ticket-not-found'; status: 404; detail: string }
  | { problem: 'ticket-voided'; status: 409; detail: string }
  | { problem: 'ticket-already-admitted'; status: 409; detail: string }
  | { problem: 'ticket-wrong-show'; status: 409; detail: string };

/** Why a scan that did not admit was refused, from the ticket as it is now. */
export function scanRefusal(
  ticket: { status: TicketStatus; admittedAt: Date | null; showId: string } | undefined,
  door: { showId: string },
): ScanRefusal {
  if (!ticket) return { problem: 'ticket-not-found', status: 404, detail: 'No ticket has this code.' };
  if (ticket.showId !== door.showId) {
    return {
      problem: 'ticket-wrong-show',
      status: 409,
      detail: `This ticket is for another show, not ${door.showId}; it was not admitted and stays valid.`,
    };
  }
  switch (ticket.status) {
    case 'voided':
      return {
        problem: 'ticket-voided',
        status: 409,
        detail: 'This ticket was voided: its reservation was cancelled.',
      };
    case 'admitted':
      return {
        problem: 'ticket-already-admitted',
        status: 409,
        detail: `This ticket was already admitted at ${ticket.admittedAt?.toISOString() ?? 'an earlier scan'}.`,
      };
    case 'valid':
      // A valid ticket is admitted by the conditional update; reaching here means it changed under us.
      return {
        problem: 'ticket-already-admitted',
        status: 409,
        detail: 'This ticket is being admitted by another scan.',
      };
    default:
      return assertNever(ticket.status);
  }
}

/** Shows locked for issuing: a switch an operator (or a test) flips to make issuing fail on purpose. */
export function parseLockedShows(list: string | undefined): ReadonlySet<string> {
  return new Set(
    (list ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id.length > 0),
  );
}

function assertNever(value: never): never {
  throw new Error(`unhandled value ${String(value)}`);
}

// reservation.cancelled → remember the cancel (tombstone: no charge afterwards) and refund a capture,
// at most once, the provider called outside any transaction → payment.refunded (see settle.ts).
import { type EventOf, nothingToUndo } from '@reservex/contracts';
import { type BatchEntry, type BatchHandler, skipping } from '@reservex/platform/events';
import { type InboxOutcome, inboxKeyOf, recordHandled } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { lockReservations, paymentRecord, recordCancellation } from '../db/payments.ts';
import { onReservationCancelled } from '../domain/payment.ts';
import { refundIfOwed, type SettleDeps } from './settle.ts';

export type RefundDeps = SettleDeps;

export const REFUND_CONSUMER = 'payment.refund';

/** Why a cancel of a saga the stock refused (most of a sold-out sale's) owes nothing: see `nothingToUndo`. */
const neverAsked = (event: EventOf<'reservation.cancelled'>) =>
  nothingToUndo(event, 'payment')
    ? {
        ...sagaAttributes({ step: 'payment.refund', reservationId: event.reservationId }),
        'payment.decision': 'nothing to undo: the stock was refused, no charge was ever asked',
      }
    : undefined;

export function refundCancelledReservation(deps: RefundDeps) {
  return (event: EventOf<'reservation.cancelled'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'payment refund',
      sagaAttributes({ step: 'payment.refund', reservationId: event.reservationId }),
      (span) => {
        const why = neverAsked(event);
        if (why) {
          span.setAttributes(why);
          return Promise.resolve('handled' as const);
        }
        return refundIfOwed(deps, event.reservationId, {
          cancellation: { reason: event.reason, cancelledAt: new Date(event.occurredAt) },
          inbox: { consumer: REFUND_CONSUMER, eventId: delivery.id, topic: 'reservation.cancelled' },
          span,
        });
      },
    );
}

/**
 * A bulk delivery: every tombstone in one transaction, with the inbox of the cancels that owe no
 * refund (most of them: nothing was charged); a capture to refund goes on as `refundCancelledReservation`
 * does, the provider called outside any transaction.
 */
export function refundInBatches(deps: RefundDeps): BatchHandler<'reservation.cancelled'> {
  return skipping(neverAsked, async (entries) => {
    const keyOf = (entry: BatchEntry<'reservation.cancelled'>) => inboxKeyOf(REFUND_CONSUMER, entry);
    const owing = await deps.db.transaction(async (tx) => {
      await lockReservations(
        tx,
        entries.map(({ event }) => event.reservationId),
      );
      const owed: BatchEntry<'reservation.cancelled'>[] = [];
      const done: BatchEntry<'reservation.cancelled'>[] = [];
      for (const entry of entries) {
        const { event } = entry;
        await recordCancellation(tx, {
          reservationId: event.reservationId,
          reason: event.reason,
          cancelledAt: new Date(event.occurredAt),
        });
        const decision = onReservationCancelled(await paymentRecord(tx, event.reservationId));
        entry.within((span) => {
          span.setAttributes({
            ...sagaAttributes({ step: 'payment.refund', reservationId: event.reservationId }),
            'payment.decision': decision.action === 'refund' ? 'refund' : decision.why,
          });
        });
        (decision.action === 'refund' ? owed : done).push(entry);
      }
      await recordHandled(tx, done.map(keyOf));
      return owed;
    });
    for (const entry of owing) {
      await entry.within((span) =>
        refundIfOwed(deps, entry.event.reservationId, {
          cancellation: { reason: entry.event.reason, cancelledAt: new Date(entry.event.occurredAt) },
          inbox: keyOf(entry),
          span,
        }),
      );
    }
  });
}

// reservation.cancelled → remember the cancel (tombstone: no charge afterwards) and refund a capture,
// at most once, the provider called outside any transaction → payment.refunded (see settle.ts).
import type { EventOf } from '@reservex/contracts';
import type { InboxOutcome } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { refundIfOwed, type SettleDeps } from './settle.ts';

export type RefundDeps = SettleDeps;

export const REFUND_CONSUMER = 'payment.refund';

export function refundCancelledReservation(deps: RefundDeps) {
  return (event: EventOf<'reservation.cancelled'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'payment refund',
      sagaAttributes({ step: 'payment.refund', reservationId: event.reservationId }),
      (span) =>
        refundIfOwed(deps, event.reservationId, {
          cancellation: { reason: event.reason, cancelledAt: new Date(event.occurredAt) },
          inbox: { consumer: REFUND_CONSUMER, eventId: delivery.id, topic: 'reservation.cancelled' },
          span,
        }),
    );
}

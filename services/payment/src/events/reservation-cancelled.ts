// reservation.cancelled → remember the cancel (tombstone: no charge afterwards) and refund a capture,
// at most once → payment.refunded.
import type { EventOf } from '@reservex/contracts';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  insertRefund,
  lockReservation,
  type PaymentDb,
  paymentRecord,
  recordCancellation,
} from '../db/payments.ts';
import { type RetryPolicy, refundWithRetries } from '../domain/charging.ts';
import { onReservationCancelled } from '../domain/payment.ts';
import type { PaymentProvider } from '../domain/provider.ts';

export type RefundDeps = { db: PaymentDb; provider: PaymentProvider; retry: RetryPolicy };

export const REFUND_CONSUMER = 'payment.refund';

export function refundCancelledReservation(deps: RefundDeps) {
  return (event: EventOf<'reservation.cancelled'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'payment refund',
      sagaAttributes({ step: 'payment.refund', reservationId: event.reservationId }),
      async (span) =>
        handleOnce(
          deps.db,
          { consumer: REFUND_CONSUMER, eventId: delivery.id, topic: 'reservation.cancelled' },
          async (tx) => {
            await lockReservation(tx, event.reservationId);
            await recordCancellation(tx, {
              reservationId: event.reservationId,
              reason: event.reason,
              cancelledAt: new Date(event.occurredAt),
            });
            const record = await paymentRecord(tx, event.reservationId);
            const decision = onReservationCancelled(record);
            span.setAttribute('payment.decision', decision.action === 'refund' ? 'refund' : decision.why);
            if (decision.action !== 'refund' || !record.row?.providerChargeId) return;

            const payment = record.row;
            const refund = await refundWithRetries(
              deps.provider,
              {
                idempotencyKey: `refund:${event.reservationId}`,
                chargeId: record.row.providerChargeId,
                amountMinor: payment.amountMinor,
                currency: payment.currency,
              },
              deps.retry,
            );
            const refunded = await insertRefund(tx, {
              paymentId: payment.id,
              reservationId: payment.reservationId,
              amountMinor: payment.amountMinor,
              currency: payment.currency,
              providerRefundId: refund.refundId,
            });
            await enqueue(
              tx,
              'payment.refunded',
              {
                schemaVersion: 1,
                reservationId: payment.reservationId,
                occurredAt: refunded.createdAt.toISOString(),
                paymentId: payment.id,
                amountMinor: refunded.amountMinor,
                currency: refunded.currency,
              },
              { partitionKey: payment.reservationId },
            );
          },
        ),
    );
}

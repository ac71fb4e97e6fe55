// stock.reserved → charge the held reservation once (idempotency key = reservation id) →
// payment.completed | payment.failed. A reservation whose cancel arrived first is never charged.
import type { EventOf } from '@reservex/contracts';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { insertPayment, lockReservation, type PaymentDb, paymentRecord } from '../db/payments.ts';
import { chargeWithRetries, type RetryPolicy } from '../domain/charging.ts';
import { onStockReserved } from '../domain/payment.ts';
import type { PaymentProvider } from '../domain/provider.ts';

export type ChargeDeps = { db: PaymentDb; provider: PaymentProvider; retry: RetryPolicy };

export const CHARGE_CONSUMER = 'payment.charge';

export function chargeReservation(deps: ChargeDeps) {
  return (event: EventOf<'stock.reserved'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'payment charge',
      sagaAttributes({ step: 'payment', reservationId: event.reservationId }),
      async (span) =>
        handleOnce(
          deps.db,
          { consumer: CHARGE_CONSUMER, eventId: delivery.id, topic: 'stock.reserved' },
          async (tx) => {
            await lockReservation(tx, event.reservationId);
            const decision = onStockReserved(await paymentRecord(tx, event.reservationId));
            span.setAttribute('payment.decision', decision.action === 'charge' ? 'charge' : decision.why);
            if (decision.action === 'skip') return;

            const outcome = await chargeWithRetries(
              deps.provider,
              {
                idempotencyKey: event.reservationId,
                amountMinor: event.amountMinor,
                currency: event.currency,
                paymentToken: event.paymentMethod.token,
              },
              deps.retry,
            );
            span.setAttribute('payment.outcome', outcome.status === 'captured' ? 'captured' : outcome.reason);
            const booking = {
              reservationId: event.reservationId,
              userId: event.userId,
              showId: event.showId,
              ticketTypeId: event.ticketTypeId,
              quantity: event.quantity,
            };
            const payment = await insertPayment(tx, {
              ...booking,
              amountMinor: event.amountMinor,
              currency: event.currency,
              provider: deps.provider.name,
              ...(outcome.status === 'captured'
                ? { status: 'captured', providerChargeId: outcome.chargeId }
                : { status: 'failed', failureReason: outcome.reason }),
            });
            const common = {
              schemaVersion: 1 as const,
              ...booking,
              occurredAt: payment.createdAt.toISOString(),
              amountMinor: payment.amountMinor,
              currency: payment.currency,
            };
            if (outcome.status === 'captured') {
              await enqueue(
                tx,
                'payment.completed',
                { ...common, paymentId: payment.id },
                { partitionKey: event.reservationId },
              );
            } else {
              await enqueue(
                tx,
                'payment.failed',
                { ...common, reason: outcome.reason },
                { partitionKey: event.reservationId },
              );
            }
          },
        ),
    );
}

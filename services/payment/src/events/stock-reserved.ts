// stock.reserved → record the intent to charge, charge the held reservation once (idempotency key =
// reservation id) outside any transaction, record the answer → payment.completed | payment.failed.
// A reservation whose cancel arrived first is never charged (see settle.ts for the steps).
import type { EventOf } from '@reservex/contracts';
import { PermanentError } from '@reservex/platform/events';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { type Intent, insertIntent, isIntent, lockReservation, paymentRecord } from '../db/payments.ts';
import { implausibleCharge, onStockReserved } from '../domain/payment.ts';
import { type SettleDeps, settleCharge } from './settle.ts';

export type ChargeDeps = SettleDeps;

export const CHARGE_CONSUMER = 'payment.charge';

export function chargeReservation(deps: ChargeDeps) {
  return (event: EventOf<'stock.reserved'>, delivery: { id: string }): Promise<InboxOutcome> =>
    withSpan(
      'payment charge',
      sagaAttributes({ step: 'payment', reservationId: event.reservationId }),
      async (span) => {
        // Never charge an amount that is not the reservation's total: refused, dead-lettered with why.
        const implausible = implausibleCharge(event);
        if (implausible) throw new PermanentError(`implausible charge: ${implausible}`);
        const inbox = { consumer: CHARGE_CONSUMER, eventId: delivery.id, topic: 'stock.reserved' };
        const step = await deps.db.transaction(async (tx): Promise<{ intent?: Intent; fresh: boolean }> => {
          await lockReservation(tx, event.reservationId);
          const record = await paymentRecord(tx, event.reservationId);
          const decision = onStockReserved(record);
          span.setAttribute('payment.decision', decision.action === 'skip' ? decision.why : decision.action);
          if (decision.action === 'resume' && isIntent(record.row))
            return { intent: record.row, fresh: false };
          if (decision.action !== 'charge') return { fresh: false };
          const intent = await insertIntent(tx, {
            reservationId: event.reservationId,
            userId: event.userId,
            showId: event.showId,
            ticketTypeId: event.ticketTypeId,
            quantity: event.quantity,
            amountMinor: event.amountMinor,
            currency: event.currency,
            provider: deps.provider.name,
            paymentToken: event.paymentMethod.token,
          });
          return { intent, fresh: true };
        });
        if (!step.intent) return handleOnce(deps.db, inbox, async () => {});
        return settleCharge(deps, step.intent, { fresh: step.fresh, inbox, span });
      },
    );
}

// stock.reserved → record the intent to charge, charge the held reservation once (idempotency key =
// reservation id) outside any transaction, record the answer → payment.completed | payment.failed.
// A reservation whose cancel arrived first is never charged (see settle.ts for the steps).
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventOf } from '@reservex/contracts';
import { type BatchEntry, type BatchHandler, PermanentError } from '@reservex/platform/events';
import { handleOnce, type InboxOutcome, inboxKeyOf, recordHandled } from '@reservex/platform/inbox';
import { logger, type Span, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  cancelledAmong,
  type Intent,
  insertIntent,
  isIntent,
  lockReservation,
  lockReservations,
  type PaymentTx,
  paymentRecord,
} from '../db/payments.ts';
import type { ChargeOutcome } from '../domain/charging.ts';
import { implausibleCharge, onStockReserved } from '../domain/payment.ts';
import { askProvider, recordCharge, refundIfOwed, type SettleDeps, settleCharge } from './settle.ts';

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
        const step = await deps.db.transaction(async (tx) => {
          await lockReservation(tx, event.reservationId);
          return intentFor(tx, deps, event, span);
        });
        if (!step.intent) return handleOnce(deps.db, inbox, async () => {});
        return settleCharge(deps, step.intent, { fresh: step.fresh, inbox, span });
      },
    );
}

/** Step (1) for one event, under its reservation's lock: the intent to charge, if there is one. */
async function intentFor(
  tx: PaymentTx,
  deps: ChargeDeps,
  event: EventOf<'stock.reserved'>,
  span: Span,
): Promise<{ intent?: Intent; fresh: boolean }> {
  const record = await paymentRecord(tx, event.reservationId);
  const decision = onStockReserved(record);
  span.setAttribute('payment.decision', decision.action === 'skip' ? decision.why : decision.action);
  if (decision.action === 'resume' && isIntent(record.row)) return { intent: record.row, fresh: false };
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
}

/**
 * A bulk delivery in the same three steps as `chargeReservation`, each done once for the whole
 * delivery: (1) the intents in one transaction (with the inbox of the events that need no charge),
 * (2) the provider asked for every intent at once, outside any transaction, (3) the answers and the
 * inbox in one transaction. A failure anywhere has the subscriber hand each event over alone, and
 * that resumes the intents already recorded with the same idempotency keys.
 */
export function chargeInBatches(deps: ChargeDeps): BatchHandler<'stock.reserved'> {
  return async (entries) => {
    for (const { event } of entries) {
      const implausible = implausibleCharge(event);
      if (implausible) throw new PermanentError(`implausible charge: ${implausible}`);
    }
    const keyOf = (entry: BatchEntry<'stock.reserved'>) => inboxKeyOf(CHARGE_CONSUMER, entry);
    const charges = await deps.db.transaction(async (tx) => {
      await lockReservations(
        tx,
        entries.map(({ event }) => event.reservationId),
      );
      const found: { entry: BatchEntry<'stock.reserved'>; intent: Intent; fresh: boolean }[] = [];
      const settled: BatchEntry<'stock.reserved'>[] = [];
      for (const entry of entries) {
        const step = await entry.within((span) => {
          span.setAttributes(sagaAttributes({ step: 'payment', reservationId: entry.event.reservationId }));
          return intentFor(tx, deps, entry.event, span);
        });
        if (step.intent) found.push({ entry, intent: step.intent, fresh: step.fresh });
        else settled.push(entry);
      }
      await recordHandled(tx, settled.map(keyOf));
      return found;
    });
    if (charges.length === 0) return;

    const answers = await Promise.allSettled(
      charges.map(({ entry, intent }) =>
        entry.within(async (span): Promise<ChargeOutcome> => {
          const outcome = await askProvider(deps, intent);
          span.setAttribute('payment.outcome', outcome.status === 'captured' ? 'captured' : outcome.reason);
          return outcome;
        }),
      ),
    );
    if (deps.faultPauseAfterChargeMs && charges.some((charge) => charge.fresh))
      await sleep(deps.faultPauseAfterChargeMs);

    const answered = charges.flatMap((charge, index) => {
      const answer = answers[index]!;
      return answer.status === 'fulfilled' ? [{ ...charge, outcome: answer.value }] : [];
    });
    const cancelled = await deps.db.transaction(async (tx) => {
      await lockReservations(
        tx,
        answered.map(({ intent }) => intent.reservationId),
      );
      await recordHandled(
        tx,
        answered.map(({ entry }) => keyOf(entry)),
      );
      // Each answer under its event's span: what it enqueues continues that event's trace.
      for (const { entry, intent, outcome } of answered)
        await entry.within(() => recordCharge(tx, intent, outcome));
      return cancelledAmong(
        tx,
        answered.map(({ intent }) => intent.reservationId),
      );
    });
    // A capture recorded after its reservation's cancel is refunded now (the resolver pays it otherwise).
    for (const reservationId of cancelled) {
      await refundIfOwed(deps, reservationId).catch((error: unknown) =>
        logger.warn({ err: error, reservationId }, 'payment: refund after a late capture failed'),
      );
    }
    const failed = answers.find((answer) => answer.status === 'rejected');
    if (failed) throw failed.reason;
  };
}

// The two money movements of the payment participant, each in three steps so that nothing slow runs
// inside an open transaction: (1) the intent is recorded (a pending payment; for a refund, the
// tombstone next to a capture), (2) the provider is called outside any transaction with an
// idempotency key derived from the reservation, (3) its answer is recorded under the reservation's
// lock, only if nothing recorded it first. A crash between (2) and (3) leaves the intent; calling the
// provider again with the same key returns the original answer, so the retry never charges twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { handleOnce, type InboxKey, type InboxOutcome } from '@reservex/platform/inbox';
import { enqueue } from '@reservex/platform/outbox';
import { logger, type Span } from '@reservex/platform/telemetry';
import {
  type Intent,
  insertRefund,
  lockReservation,
  type PaymentDb,
  type PaymentTx,
  paymentRecord,
  recordCancellation,
  resolveIntent,
} from '../db/payments.ts';
import {
  type ChargeOutcome,
  chargeWithRetries,
  type RetryPolicy,
  refundWithRetries,
} from '../domain/charging.ts';
import { onReservationCancelled } from '../domain/payment.ts';
import type { PaymentProvider } from '../domain/provider.ts';

export type SettleDeps = {
  db: PaymentDb;
  provider: PaymentProvider;
  retry: RetryPolicy;
  /** Fault switch (0 or absent = off): pause between a fresh charge's answer and its record. */
  faultPauseAfterChargeMs?: number;
};

/** Runs `effect` in a transaction, recording `inbox` in it when given (a delivery is then done). */
function transact(
  db: PaymentDb,
  inbox: InboxKey | undefined,
  effect: (tx: PaymentTx) => Promise<unknown>,
): Promise<InboxOutcome> {
  if (inbox) return handleOnce(db, inbox, effect);
  return db.transaction(async (tx) => {
    await effect(tx);
    return 'handled' as const;
  });
}

/**
 * Steps (2) and (3) of a charge whose intent is recorded: asks the provider (key = reservation id) and
 * records its answer with the payment event; then refunds it if the reservation was cancelled meanwhile.
 */
export async function settleCharge(
  deps: SettleDeps,
  intent: Intent,
  options: { fresh: boolean; inbox?: InboxKey; span?: Span },
): Promise<InboxOutcome> {
  const outcome = await askProvider(deps, intent);
  options.span?.setAttribute('payment.outcome', outcome.status === 'captured' ? 'captured' : outcome.reason);
  if (options.fresh && deps.faultPauseAfterChargeMs) await sleep(deps.faultPauseAfterChargeMs);
  const handled = await transact(deps.db, options.inbox, (tx) => recordCharge(tx, intent, outcome));
  // The charge is recorded either way; a refund that fails now is owed, and the resolver pays it.
  await refundIfOwed(deps, intent.reservationId).catch((error: unknown) =>
    logger.warn(
      { err: error, reservationId: intent.reservationId },
      'payment: refund after a late capture failed',
    ),
  );
  return handled;
}

/** Step (2): the provider charges the intent, its reservation id as the idempotency key. */
export function askProvider(deps: SettleDeps, intent: Intent): Promise<ChargeOutcome> {
  return chargeWithRetries(
    deps.provider,
    {
      idempotencyKey: intent.reservationId,
      amountMinor: intent.amountMinor,
      currency: intent.currency,
      paymentToken: intent.paymentToken,
      reference: intent.reservationId,
    },
    deps.retry,
  );
}

/** Records the provider's answer to an intent with its payment event, under the reservation's lock. */
export async function recordCharge(tx: PaymentTx, intent: Intent, outcome: ChargeOutcome): Promise<void> {
  await lockReservation(tx, intent.reservationId);
  const { row } = await paymentRecord(tx, intent.reservationId);
  // Another delivery or the resolver recorded the answer first: the provider gave it the same one.
  if (row?.id !== intent.id || row.status !== 'pending') return;
  const payment = await resolveIntent(
    tx,
    intent.id,
    outcome.status === 'captured'
      ? { status: 'captured', providerChargeId: outcome.chargeId }
      : { status: 'failed', failureReason: outcome.reason },
  );
  const common = {
    schemaVersion: 1 as const,
    reservationId: payment.reservationId,
    userId: payment.userId,
    showId: payment.showId,
    ticketTypeId: payment.ticketTypeId,
    quantity: payment.quantity,
    occurredAt: payment.updatedAt.toISOString(),
    amountMinor: payment.amountMinor,
    currency: payment.currency,
  };
  const partition = { partitionKey: payment.reservationId };
  if (outcome.status === 'captured') {
    await enqueue(tx, 'payment.completed', { ...common, paymentId: payment.id }, partition);
  } else {
    await enqueue(tx, 'payment.failed', { ...common, reason: outcome.reason }, partition);
  }
}

/**
 * A cancelled reservation keeps no money: records the cancel when given (its tombstone), and refunds
 * a recorded capture once (key `refund:<reservation id>`). A charge still pending is left to refund
 * itself when its capture is recorded (settleCharge ends here).
 */
export async function refundIfOwed(
  deps: SettleDeps,
  reservationId: string,
  options: {
    cancellation?: { reason: string; cancelledAt: Date };
    inbox?: InboxKey;
    span?: Span;
  } = {},
): Promise<InboxOutcome> {
  const owed = await deps.db.transaction(async (tx) => {
    await lockReservation(tx, reservationId);
    if (options.cancellation) await recordCancellation(tx, { reservationId, ...options.cancellation });
    const record = await paymentRecord(tx, reservationId);
    const decision = onReservationCancelled(record);
    options.span?.setAttribute('payment.decision', decision.action === 'refund' ? 'refund' : decision.why);
    return decision.action === 'refund' ? record.row : undefined;
  });
  if (!owed?.providerChargeId) return transact(deps.db, options.inbox, async () => {});

  const refund = await refundWithRetries(
    deps.provider,
    {
      idempotencyKey: `refund:${reservationId}`,
      chargeId: owed.providerChargeId,
      amountMinor: owed.amountMinor,
      currency: owed.currency,
    },
    deps.retry,
  );
  return transact(deps.db, options.inbox, async (tx) => {
    await lockReservation(tx, reservationId);
    const { row } = await paymentRecord(tx, reservationId);
    if (row?.id !== owed.id || row.status !== 'captured') return;
    const refunded = await insertRefund(tx, {
      paymentId: owed.id,
      reservationId,
      amountMinor: owed.amountMinor,
      currency: owed.currency,
      providerRefundId: refund.refundId,
    });
    await enqueue(
      tx,
      'payment.refunded',
      {
        schemaVersion: 1,
        reservationId,
        occurredAt: refunded.createdAt.toISOString(),
        paymentId: owed.id,
        amountMinor: refunded.amountMinor,
        currency: refunded.currency,
      },
      { partitionKey: reservationId },
    );
  });
}

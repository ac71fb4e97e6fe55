// Finishes what a crash left unfinished: an intent to charge with no recorded answer, and a cancelled
// reservation's capture with no refund. Both are resolved the way a redelivery would resolve them (the
// same idempotency keys), so the provider answers with what it did the first time. Usually the
// redelivery of the event gets there first; this covers an event that is not delivered again.
import { logger } from '@reservex/platform/telemetry';
import { owedRefunds, staleIntents } from './db/payments.ts';
import { refundIfOwed, type SettleDeps, settleCharge } from './events/settle.ts';

export type ResolverOptions = { intervalMs: number; afterMs: number; batch?: number };

/** One pass; returns how many charges and refunds it settled. */
export async function resolveUnfinished(
  deps: SettleDeps,
  options: { afterMs: number; batch?: number },
): Promise<{ charges: number; refunds: number }> {
  const olderThan = new Date(Date.now() - options.afterMs);
  const batch = options.batch ?? 50;
  const intents = await staleIntents(deps.db, olderThan, batch);
  for (const intent of intents)
    await settleCharge({ ...deps, faultPauseAfterChargeMs: 0 }, intent, { fresh: false });
  const owed = await owedRefunds(deps.db, olderThan, batch);
  for (const reservationId of owed) await refundIfOwed(deps, reservationId);
  return { charges: intents.length, refunds: owed.length };
}

export function startResolver(deps: SettleDeps, options: ResolverOptions): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => resolveUnfinished(deps, options))
      .then((done) => {
        if (done.charges + done.refunds > 0)
          logger.info(done, 'payment: settled unfinished charges and refunds');
      })
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'payment: resolving unfinished payments failed'),
      );
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

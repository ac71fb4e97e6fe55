// The hold-expiry sweeper: reservations not confirmed within HOLD_TTL are cancelled as EXPIRED and
// compensated like any other cancellation. Every replica runs the loop; a Dapr lock lets one sweep
// at a time. The lock cannot be renewed, so a sweep is bounded well inside its lease.
import type { Dapr } from '@reservex/platform/dapr';
import { contextFromTraceparent, logger, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  advanceSaga,
  expiredReservations,
  findReservation,
  type ReservationDatabase,
} from './db/reservations.ts';

export type ExpirySweeperOptions = {
  db: ReservationDatabase;
  lock: Dapr['lock'];
  lockStore: string;
  /** Lock owner: this process. */
  instanceId: string;
  intervalMs: number;
  /** Reservations cancelled per sweep at most. */
  batchSize?: number;
  now?: () => Date;
};

export const SWEEPER_LOCK = 'hold-expiry-sweeper';

export function startExpirySweeper(options: ExpirySweeperOptions) {
  const { db, lock } = options;
  const now = options.now ?? (() => new Date());
  const batchSize = options.batchSize ?? 200;
  // Long enough to cover a sweep, short enough that a crashed sweeper is replaced soon.
  const leaseSeconds = Math.max(5, Math.ceil((options.intervalMs * 3) / 1000));
  const budgetMs = leaseSeconds * 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  /** One sweep if this instance wins the lock; the number of reservations it cancelled. */
  async function sweep(): Promise<number> {
    const lease = await lock.withLock(
      options.lockStore,
      SWEEPER_LOCK,
      options.instanceId,
      leaseSeconds,
      async () => {
        const started = Date.now();
        const due = await expiredReservations(db, now(), batchSize);
        let cancelled = 0;
        for (const id of due) {
          if (stopped || Date.now() - started > budgetMs) break;
          if (await expire(id)) cancelled++;
        }
        return cancelled;
      },
    );
    return lease.acquired ? lease.value : 0;
  }

  async function expire(reservationId: string): Promise<boolean> {
    const reservation = await findReservation(db, reservationId);
    // The compensation belongs to the saga's trace, not to a trace of its own.
    const parent = contextFromTraceparent(reservation?.traceparent);
    return withSpan(
      'saga reservation.expire',
      sagaAttributes({ step: 'reservation.expire', reservationId }),
      async () => {
        const outcome = await db.transaction((tx) =>
          advanceSaga(tx, reservationId, { type: 'hold.expired' }, { cause: 'expiry' }, now()),
        );
        return outcome.kind === 'applied' && outcome.decision.kind === 'cancel';
      },
      { parent },
    );
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep()
        .then((cancelled) => {
          if (cancelled > 0) logger.info({ cancelled }, 'expired reservations cancelled');
        })
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'expiry sweep failed; trying again next interval'),
        )
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, options.intervalMs);
    timer.unref();
  }
  schedule();

  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

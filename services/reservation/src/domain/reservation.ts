// A reservation is its append-only history of transitions; its status is the last one.
import type { CancelReason, SagaStep } from '@reservex/contracts';
import { isFinal, type ReservationStatus } from './saga.ts';

declare const brand: unique symbol;
export type ReservationId = string & { readonly [brand]: 'ReservationId' };
export type UserId = string & { readonly [brand]: 'UserId' };

/** What moved the saga: an event's topic, or an action of this service. */
export type TransitionCause = string;

export type Transition = {
  readonly seq: number;
  readonly status: ReservationStatus;
  readonly reason: CancelReason | null;
  readonly failedStep: SagaStep | null;
  readonly detail: string | null;
  readonly cause: TransitionCause;
  readonly at: Date;
};

/** The status a history ends in. A reservation is born PENDING, so an empty history is PENDING too. */
export function currentStatus(history: readonly Pick<Transition, 'seq' | 'status'>[]): ReservationStatus {
  let last: Pick<Transition, 'seq' | 'status'> | undefined;
  for (const t of history) if (last === undefined || t.seq > last.seq) last = t;
  return last?.status ?? 'PENDING';
}

/** A history is well formed when it starts PENDING, has consecutive seqs and nothing after an end. */
export function isWellFormed(history: readonly Pick<Transition, 'seq' | 'status'>[]): boolean {
  const ordered = [...history].sort((a, b) => a.seq - b.seq);
  return ordered.every(
    (t, i) =>
      t.seq === i + 1 &&
      (i === 0 ? t.status === 'PENDING' : t.status !== 'PENDING' && !isFinal(ordered[i - 1]!.status)),
  );
}

export function holdExpiry(createdAt: Date, holdTtlSeconds: number): Date {
  return new Date(createdAt.getTime() + holdTtlSeconds * 1000);
}

/** Why a requested quantity cannot be booked, if it cannot. */
export function quantityProblem(quantity: number, perOrderLimit: number): string | undefined {
  if (!Number.isInteger(quantity) || quantity < 1) return 'must be a whole number of at least 1';
  if (quantity > perOrderLimit) return `must be at most ${perOrderLimit} for this ticket type`;
  return undefined;
}

export function isSaleOpen(window: { saleStartsAt: Date; saleEndsAt: Date | null }, now: Date): boolean {
  const t = now.getTime();
  return (
    t >= window.saleStartsAt.getTime() && (window.saleEndsAt === null || t < window.saleEndsAt.getTime())
  );
}

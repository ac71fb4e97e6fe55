// Taking, selling and giving back stock for one reservation, inside the caller's transaction (the
// one that also records the inbox row and the outbox event). Three allocation strategies:
//
// - batched (default): a bulk-subscribed delivery of up to a hundred requests is decided in one
//   transaction: their hold rows are claimed together, each ticket type they name is locked once,
//   the requests are served in arrival order in memory, and one UPDATE per ticket type writes the
//   result. One lock, one round of writes and one commit per batch instead of per request.
// - atomic: one request per transaction; the hold row is claimed first (its primary key settles any race with a
//   cancellation of the same reservation), then one conditional UPDATE takes the stock only if
//   enough is available. No row is locked while the handler decides, and once a type is sold out
//   a request does not touch the hot row at all.
// - pessimistic (the baseline the benchmark compares against): SELECT … FOR UPDATE of the ticket
//   type at the start of every message, then decide and write while holding the lock.
import type { StockFailureReason } from '@reservex/contracts';
import type { Executor } from '@reservex/platform/db';
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import { type Hold, type HoldStatus, nextHoldStep } from '../domain/hold.ts';
import { hold as holdStock, judgeHold, type TicketTypeOnSale } from '../domain/stock.ts';
import { type HoldRow, holds, type TicketTypeRow, ticketTypes } from './schema.ts';

export const allocationStrategies = ['batched', 'atomic', 'pessimistic'] as const;
export type AllocationStrategy = (typeof allocationStrategies)[number];

export type HoldRequest = {
  reservationId: string;
  showId: string;
  ticketTypeId: string;
  quantity: number;
};

/** The hold a saga event is about (every saga event names its reservation, show, type and quantity). */
export function holdRequestOf(event: HoldRequest): HoldRequest {
  return {
    reservationId: event.reservationId,
    showId: event.showId,
    ticketTypeId: event.ticketTypeId,
    quantity: event.quantity,
  };
}

export type ReserveOutcome =
  | { kind: 'held'; ticketType: TicketTypeRow }
  | { kind: 'refused'; reason: StockFailureReason; available?: number }
  | { kind: 'ignored'; why: string };

export type ReleaseOutcome = { kind: 'released'; quantity: number } | { kind: 'ignored'; why: string };
export type SellOutcome = { kind: 'sold'; quantity: number } | { kind: 'ignored'; why: string };

export function reserveStock(
  tx: Executor,
  strategy: Exclude<AllocationStrategy, 'batched'>,
  request: HoldRequest,
  now: Date,
): Promise<ReserveOutcome> {
  switch (strategy) {
    case 'atomic':
      return reserveAtomically(tx, request, now);
    case 'pessimistic':
      return reserveUnderLock(tx, request, now);
    default: {
      const unknown: never = strategy;
      throw new Error(`unknown allocation strategy ${unknown}`);
    }
  }
}

async function reserveAtomically(tx: Executor, request: HoldRequest, now: Date): Promise<ReserveOutcome> {
  // Claim the reservation: a tombstone, an earlier hold or a refusal already there wins.
  const [claimed] = await tx
    .insert(holds)
    .values({ ...bookingOf(request), status: 'HELD' })
    .onConflictDoNothing({ target: holds.reservationId })
    .returning({ reservationId: holds.reservationId });
  if (!claimed) return ignoredBecauseOf(tx, request.reservationId, 'reserve');

  const [ticketType] = await tx.select().from(ticketTypes).where(eq(ticketTypes.id, request.ticketTypeId));
  const verdict = judgeHold(ticketType && onSale(ticketType), request, now);
  if (!verdict.ok) return refuse(tx, request, verdict.reason, ticketType?.available);

  const [taken] = await tx
    .update(ticketTypes)
    .set({
      available: sql`${ticketTypes.available} - ${request.quantity}::integer`,
      held: sql`${ticketTypes.held} + ${request.quantity}::integer`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(ticketTypes.id, request.ticketTypeId), gte(ticketTypes.available, request.quantity)))
    .returning();
  if (!taken) return refuse(tx, request, 'SOLD_OUT', 0);
  return { kind: 'held', ticketType: taken };
}

async function reserveUnderLock(tx: Executor, request: HoldRequest, now: Date): Promise<ReserveOutcome> {
  const [ticketType] = await tx
    .select()
    .from(ticketTypes)
    .where(eq(ticketTypes.id, request.ticketTypeId))
    .for('update');
  const existing = await findHold(tx, request.reservationId);
  const step = nextHoldStep(existing && holdOf(existing), 'reserve');
  if (step.kind !== 'attempt-hold')
    return { kind: 'ignored', why: step.kind === 'ignore' ? step.why : step.kind };

  const verdict = judgeHold(ticketType && onSale(ticketType), request, now);
  if (!verdict.ok || !ticketType) {
    await tx
      .insert(holds)
      .values({ ...bookingOf(request), status: 'REJECTED', reason: verdict.ok ? null : verdict.reason });
    return verdict.ok
      ? { kind: 'refused', reason: 'UNKNOWN_TICKET_TYPE' }
      : {
          kind: 'refused',
          reason: verdict.reason,
          ...(ticketType ? { available: ticketType.available } : {}),
        };
  }
  const after = holdStock(ticketType, request.quantity)!;
  const [taken] = await tx
    .update(ticketTypes)
    .set({ available: after.available, held: after.held, updatedAt: sql`now()` })
    .where(eq(ticketTypes.id, ticketType.id))
    .returning();
  // A concurrent tombstone for this reservation makes this insert fail, and the whole transaction
  // (stock included) is retried, then sees the tombstone.
  await tx.insert(holds).values({ ...bookingOf(request), status: 'HELD' });
  return { kind: 'held', ticketType: taken! };
}

/**
 * Decides a batch of hold requests in one go, answering in the order given. Safe under any
 * concurrency: the hold rows are claimed first (a tombstone or an earlier decision wins, as in the
 * atomic strategy), then the ticket types are locked in id order — so two batches, or a batch and a
 * per-request writer, never deadlock — and the counters are written from what was read under the
 * lock. The table's CHECK constraints refuse anything that would break the invariant.
 */
export async function reserveBatch(
  tx: Executor,
  requests: readonly HoldRequest[],
  now: Date,
): Promise<ReserveOutcome[]> {
  const outcomes: ReserveOutcome[] = requests.map(() => ({ kind: 'ignored', why: 'not claimed' }));
  const firstIndex = new Map<string, number>();
  requests.forEach((request, index) => {
    if (!firstIndex.has(request.reservationId)) firstIndex.set(request.reservationId, index);
    else outcomes[index] = { kind: 'ignored', why: 'same reservation earlier in this batch' };
  });
  if (firstIndex.size === 0) return outcomes;

  const claims = [...firstIndex.keys()]
    .sort()
    .map((id) => ({ ...bookingOf(requests[firstIndex.get(id)!]!), status: 'HELD' as const }));
  const claimed = new Set(
    (
      await tx
        .insert(holds)
        .values(claims)
        .onConflictDoNothing({ target: holds.reservationId })
        .returning({ reservationId: holds.reservationId })
    ).map((row) => row.reservationId),
  );
  const unclaimed = [...firstIndex.keys()].filter((id) => !claimed.has(id));
  if (unclaimed.length > 0) {
    const existing = await tx.select().from(holds).where(inArray(holds.reservationId, unclaimed));
    for (const row of existing) {
      outcomes[firstIndex.get(row.reservationId)!] = {
        kind: 'ignored',
        why: describe(nextHoldStep(holdOf(row), 'reserve')),
      };
    }
  }
  if (claimed.size === 0) return outcomes;

  const typeIds = [...new Set([...claimed].map((id) => requests[firstIndex.get(id)!]!.ticketTypeId))].sort();
  const locked = await tx
    .select()
    .from(ticketTypes)
    .where(inArray(ticketTypes.id, typeIds))
    .orderBy(ticketTypes.id)
    .for('update');
  const stock = new Map(locked.map((row) => [row.id, row]));

  const refused = new Map<StockFailureReason, string[]>();
  for (const [reservationId, index] of firstIndex) {
    if (!claimed.has(reservationId)) continue;
    const request = requests[index]!;
    const ticketType = stock.get(request.ticketTypeId);
    const verdict = judgeHold(ticketType && onSale(ticketType), request, now);
    if (!verdict.ok || !ticketType) {
      const reason = verdict.ok ? 'UNKNOWN_TICKET_TYPE' : verdict.reason;
      refused.set(reason, [...(refused.get(reason) ?? []), reservationId]);
      outcomes[index] = {
        kind: 'refused',
        reason,
        ...(ticketType ? { available: ticketType.available } : {}),
      };
      continue;
    }
    const after = holdStock(ticketType, request.quantity)!;
    const updated = { ...ticketType, available: after.available, held: after.held };
    stock.set(ticketType.id, updated);
    outcomes[index] = { kind: 'held', ticketType: updated };
  }

  for (const row of locked) {
    const after = stock.get(row.id)!;
    if (after.available === row.available) continue;
    await tx
      .update(ticketTypes)
      .set({ available: after.available, held: after.held, updatedAt: sql`now()` })
      .where(eq(ticketTypes.id, row.id));
  }
  for (const [reason, reservationIds] of refused) {
    await tx
      .update(holds)
      .set({ status: 'REJECTED', reason, updatedAt: sql`now()` })
      .where(inArray(holds.reservationId, reservationIds));
  }
  return outcomes;
}

/** reservation.confirmed: the held tickets are sold. */
export async function sellHeldStock(tx: Executor, reservationId: string): Promise<SellOutcome> {
  const existing = await findHold(tx, reservationId, { lock: true });
  const step = nextHoldStep(existing && holdOf(existing), 'confirm');
  if (step.kind !== 'sell' || !existing) return { kind: 'ignored', why: describe(step) };
  await tx
    .update(ticketTypes)
    .set({
      held: sql`${ticketTypes.held} - ${step.quantity}::integer`,
      sold: sql`${ticketTypes.sold} + ${step.quantity}::integer`,
      updatedAt: sql`now()`,
    })
    .where(eq(ticketTypes.id, existing.ticketTypeId));
  await setStatus(tx, reservationId, 'SOLD');
  return { kind: 'sold', quantity: step.quantity };
}

const TOMBSTONED: ReleaseOutcome = {
  kind: 'ignored',
  why: 'cancelled before it was held: tombstone recorded',
};

/**
 * reservation.cancelled, a delivery of them in one transaction: a held quantity goes back on sale; a
 * reservation never seen gets a tombstone so its late reservation.created can never take stock. The
 * tombstones are written first (one statement, in id order), then the other holds and their ticket types are
 * locked (see `lockHoldsAndStock`), then each is released in order.
 */
export async function releaseStockBatch(
  tx: Executor,
  requests: readonly HoldRequest[],
): Promise<ReleaseOutcome[]> {
  const tombstoned = await recordTombstones(tx, requests);
  const rest = requests.filter((request) => !tombstoned.has(request.reservationId));
  await lockHoldsAndStock(tx, rest);
  const outcomes: ReleaseOutcome[] = [];
  const seen = new Set<string>();
  for (const request of requests) {
    const first = !seen.has(request.reservationId);
    seen.add(request.reservationId);
    // A tombstone written now answers its reservation's first cancellation; a repeat finds it.
    outcomes.push(
      first && tombstoned.has(request.reservationId) ? TOMBSTONED : await releaseHeld(tx, request),
    );
  }
  return outcomes;
}

/** Tombstones for the reservations that have no hold row yet; answers those it wrote. */
async function recordTombstones(tx: Executor, requests: readonly HoldRequest[]): Promise<Set<string>> {
  const first = new Map<string, HoldRequest>();
  for (const request of requests)
    if (!first.has(request.reservationId)) first.set(request.reservationId, request);
  if (first.size === 0) return new Set();
  const rows = [...first.keys()]
    .sort()
    .map((id) => ({ ...bookingOf(first.get(id)!), status: 'TOMBSTONE' as const }));
  const written = await tx
    .insert(holds)
    .values(rows)
    .onConflictDoNothing({ target: holds.reservationId })
    .returning({ reservationId: holds.reservationId });
  return new Set(written.map((row) => row.reservationId));
}

/**
 * Locks the requests' holds, then their ticket types, each in id order: the order a batch of holds
 * takes them (`reserveBatch`: hold rows first, then ticket types), so two batches never deadlock.
 */
export async function lockHoldsAndStock(
  tx: Executor,
  requests: readonly Pick<HoldRequest, 'reservationId' | 'ticketTypeId'>[],
): Promise<void> {
  if (requests.length === 0) return;
  const reservationIds = [...new Set(requests.map((request) => request.reservationId))].sort();
  const typeIds = [...new Set(requests.map((request) => request.ticketTypeId))].sort();
  await tx
    .select({ reservationId: holds.reservationId })
    .from(holds)
    .where(inArray(holds.reservationId, reservationIds))
    .orderBy(holds.reservationId)
    .for('update');
  await tx
    .select({ id: ticketTypes.id })
    .from(ticketTypes)
    .where(inArray(ticketTypes.id, typeIds))
    .orderBy(ticketTypes.id)
    .for('update');
}

/** The release itself, once the reservation is known to have a hold row. */
async function releaseHeld(tx: Executor, request: HoldRequest): Promise<ReleaseOutcome> {
  const existing = await findHold(tx, request.reservationId, { lock: true });
  const step = nextHoldStep(existing && holdOf(existing), 'cancel');
  if (step.kind !== 'release' || !existing) return { kind: 'ignored', why: describe(step) };
  await tx
    .update(ticketTypes)
    .set({
      held: sql`${ticketTypes.held} - ${step.quantity}::integer`,
      available: sql`${ticketTypes.available} + ${step.quantity}::integer`,
      updatedAt: sql`now()`,
    })
    .where(eq(ticketTypes.id, existing.ticketTypeId));
  await setStatus(tx, request.reservationId, 'RELEASED');
  return { kind: 'released', quantity: step.quantity };
}

export async function findHold(
  tx: Executor,
  reservationId: string,
  options: { lock?: boolean } = {},
): Promise<HoldRow | undefined> {
  const query = tx.select().from(holds).where(eq(holds.reservationId, reservationId));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export function holdOf(row: HoldRow): Hold {
  switch (row.status) {
    case 'HELD':
    case 'SOLD':
    case 'RELEASED':
      return { status: row.status, quantity: row.quantity };
    case 'REJECTED':
      return { status: 'REJECTED', reason: (row.reason ?? 'SOLD_OUT') as StockFailureReason };
    case 'TOMBSTONE':
      return { status: 'TOMBSTONE' };
    default: {
      const unknown: never = row.status;
      throw new Error(`unknown hold status ${unknown}`);
    }
  }
}

function onSale(row: TicketTypeRow): TicketTypeOnSale {
  return {
    showId: row.showId,
    perOrderLimit: row.perOrderLimit,
    saleStartsAt: row.saleStartsAt,
    saleEndsAt: row.saleEndsAt,
    stock: row,
  };
}

function bookingOf(request: HoldRequest) {
  return {
    reservationId: request.reservationId,
    showId: request.showId,
    ticketTypeId: request.ticketTypeId,
    quantity: request.quantity,
  };
}

async function refuse(
  tx: Executor,
  request: HoldRequest,
  reason: StockFailureReason,
  available: number | undefined,
): Promise<ReserveOutcome> {
  await tx
    .update(holds)
    .set({ status: 'REJECTED', reason, updatedAt: sql`now()` })
    .where(eq(holds.reservationId, request.reservationId));
  return { kind: 'refused', reason, ...(available === undefined ? {} : { available }) };
}

async function ignoredBecauseOf(
  tx: Executor,
  reservationId: string,
  command: 'reserve',
): Promise<ReserveOutcome> {
  const existing = await findHold(tx, reservationId);
  const step = nextHoldStep(existing && holdOf(existing), command);
  return { kind: 'ignored', why: describe(step) };
}

async function setStatus(tx: Executor, reservationId: string, status: HoldStatus) {
  await tx.update(holds).set({ status, updatedAt: sql`now()` }).where(eq(holds.reservationId, reservationId));
}

function describe(step: ReturnType<typeof nextHoldStep>): string {
  return step.kind === 'ignore' ? step.why : `unexpected step ${step.kind}`;
}

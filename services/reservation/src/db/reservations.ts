// Reservations and their transitions. Every change to a saga goes through `advanceSaga`: it locks the
// reservation row, derives the status from the history, asks the domain what the input means, and
// appends the transition and its event (outbox) in the caller's transaction.
import type { CancelReason, EventOf, PaymentMethod, SagaStep } from '@reservex/contracts';
import type { Database, Executor } from '@reservex/platform/db';
import { enqueue, enqueueAll, type OutboxEntry, outboxEntry } from '@reservex/platform/outbox';
import { and, asc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import { implausibility, type ParticipantEvent } from '../domain/plausibility.ts';
import { currentStatus, type Transition } from '../domain/reservation.ts';
import {
  decide,
  isFinal,
  type ReservationStatus,
  type SagaDecision,
  type SagaInput,
  statusAfter,
} from '../domain/saga.ts';
import type * as schema from './schema.ts';
import {
  type ReservationRow,
  reservations,
  reservationTransitions,
  spentPasses,
  type TransitionRow,
} from './schema.ts';

export type ReservationDatabase = Database<typeof schema>;

export type ReservationWithHistory = ReservationRow & {
  status: ReservationStatus;
  transitions: Transition[];
};

export type NewReservation = {
  id: string;
  userId: string;
  showId: string;
  ticketTypeId: string;
  quantity: number;
  holdExpiresAt: Date;
  paymentMethod: PaymentMethod;
  traceparent: string | undefined;
  now: Date;
  /** Tickets of this type the user may hold across their reservations that are not cancelled. */
  perUserLimit: number;
  /** The waiting-room pass that buys it, spent in the same transaction; none without a waiting room. */
  passJti?: string;
};

export type CreateOutcome =
  | { kind: 'created'; reservation: ReservationWithHistory }
  | { kind: 'already-open' }
  | { kind: 'over-user-limit'; held: number }
  | { kind: 'pass-spent' };

class PassSpent extends Error {
  constructor() {
    super('the pass was already spent');
  }
}

class OverUserLimit extends Error {
  readonly held: number;
  constructor(held: number) {
    super('over the per-user limit');
    this.held = held;
  }
}

/**
 * A new reservation, its first transition and reservation.created, in one transaction, refused when
 * it would take the user past the ticket type's per-user limit. The count is taken after the insert:
 * a concurrent reservation of the same user and show is either committed (and counted) or still
 * open (and the one-open-reservation index makes this insert wait for it, then conflict), so two
 * orders can never both pass the limit. The pass that buys it is spent in the same transaction:
 * refused (and nothing written) when it bought a reservation already.
 */
export async function createReservation(
  db: ReservationDatabase,
  input: NewReservation,
): Promise<CreateOutcome> {
  try {
    return await insertReservation(db, input);
  } catch (error) {
    if (error instanceof OverUserLimit) return { kind: 'over-user-limit', held: error.held };
    if (error instanceof PassSpent) return { kind: 'pass-spent' };
    throw error;
  }
}

/**
 * Tickets of a type the user holds or is being sold: the quantities of their reservations of it that
 * were not cancelled.
 */
async function ticketsHeldByUser(db: Executor, userId: string, ticketTypeId: string): Promise<number> {
  const [row] = await db
    .select({ held: sql<string>`coalesce(sum(${reservations.quantity}), 0)` })
    .from(reservations)
    .where(
      and(
        eq(reservations.userId, userId),
        eq(reservations.ticketTypeId, ticketTypeId),
        sql`not exists (select 1 from ${reservationTransitions} where ${reservationTransitions.reservationId} = ${reservations.id} and ${reservationTransitions.status} = 'CANCELLED')`,
      ),
    );
  return Number(row?.held ?? 0);
}

async function insertReservation(db: ReservationDatabase, input: NewReservation): Promise<CreateOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(reservations)
      .values({
        id: input.id,
        userId: input.userId,
        showId: input.showId,
        ticketTypeId: input.ticketTypeId,
        quantity: input.quantity,
        holdExpiresAt: input.holdExpiresAt,
        createdAt: input.now,
        traceparent: input.traceparent ?? null,
      })
      .onConflictDoNothing({
        target: [reservations.userId, reservations.showId],
        where: sql`${reservations.endedAt} is null`,
      })
      .returning();
    if (!row) return { kind: 'already-open' } as const;
    if (input.passJti !== undefined) {
      // A concurrent request with the same pass waits on its key, then conflicts.
      const [spent] = await tx
        .insert(spentPasses)
        .values({ jti: input.passJti, reservationId: row.id, spentAt: input.now })
        .onConflictDoNothing()
        .returning({ jti: spentPasses.jti });
      if (!spent) throw new PassSpent();
    }
    const held = await ticketsHeldByUser(tx, input.userId, input.ticketTypeId);
    if (held > input.perUserLimit) throw new OverUserLimit(held - input.quantity);
    const [first] = await tx
      .insert(reservationTransitions)
      .values({ reservationId: row.id, seq: 1, status: 'PENDING', cause: 'request', at: input.now })
      .returning();
    await enqueue(
      tx,
      'reservation.created',
      {
        ...sagaRefOf(row, input.now),
        paymentMethod: input.paymentMethod,
        holdExpiresAt: input.holdExpiresAt.toISOString(),
      },
      { partitionKey: row.id },
    );
    return {
      kind: 'created',
      reservation: { ...row, status: 'PENDING', transitions: [transitionOf(first!)] },
    } as const;
  });
}

export async function findReservation(db: Executor, id: string): Promise<ReservationWithHistory | undefined> {
  const [row] = await db.select().from(reservations).where(eq(reservations.id, id));
  if (!row) return undefined;
  const history = await db
    .select()
    .from(reservationTransitions)
    .where(eq(reservationTransitions.reservationId, id))
    .orderBy(asc(reservationTransitions.seq));
  const transitions = history.map(transitionOf);
  return { ...row, status: currentStatus(transitions), transitions };
}

/** The reservation a waiting-room pass bought, if it bought one. */
export async function reservationBoughtWith(
  db: Executor,
  passJti: string,
): Promise<ReservationWithHistory | undefined> {
  const [spent] = await db
    .select({ reservationId: spentPasses.reservationId })
    .from(spentPasses)
    .where(eq(spentPasses.jti, passJti))
    .limit(1);
  return spent ? findReservation(db, spent.reservationId) : undefined;
}

export type AdvanceOutcome =
  | { kind: 'unknown-reservation' }
  /** The event's facts are not this reservation's (see domain/plausibility.ts): nothing changed. */
  | { kind: 'implausible'; reason: string }
  | { kind: 'applied'; from: ReservationStatus; to: ReservationStatus; decision: SagaDecision };

export type Cause = { cause: string; eventId?: string | undefined };

/**
 * Applies one saga input to a reservation inside `tx`. The row lock serialises the inputs of one
 * saga (they arrive on different topics, possibly at once); sagas do not wait on each other.
 */
export async function advanceSaga(
  tx: Executor,
  reservationId: string,
  input: SagaInput,
  cause: Cause,
  now: Date,
  /** The facts of the participant's event, checked against the reservation's before anything else. */
  facts?: ParticipantEvent,
): Promise<AdvanceOutcome> {
  const [outcome] = await advanceSagas(
    tx,
    [{ reservationId, input, cause, ...(facts ? { facts } : {}) }],
    now,
  );
  return outcome!;
}

/** One input of `advanceSagas`. */
export type SagaStepInput = {
  reservationId: string;
  input: SagaInput;
  cause: Cause;
  /** The facts of the participant's event, checked against the reservation's before anything else. */
  facts?: ParticipantEvent;
};

/**
 * Applies saga inputs inside `tx`, in the given order, in a fixed handful of statements however many
 * there are: the reservations' rows are locked in id order (so two such transactions cannot deadlock)
 * and read with their histories, each input is decided against the status the inputs before it left
 * (two inputs of one saga apply one after the other), then every transition, end and event is written
 * together. `within(i, fn)` runs `fn` in input i's trace context: its event's outbox row continues
 * that trace. When an input is implausible nothing is written (the caller refuses the event).
 */
export async function advanceSagas(
  tx: Executor,
  steps: readonly SagaStepInput[],
  now: Date,
  within: <R>(index: number, fn: () => R) => R = (_, fn) => fn(),
): Promise<AdvanceOutcome[]> {
  const ids = [...new Set(steps.map((step) => step.reservationId))].sort();
  if (ids.length === 0) return [];
  const rows = new Map(
    (
      await tx
        .select()
        .from(reservations)
        .where(inArray(reservations.id, ids))
        .orderBy(asc(reservations.id))
        .for('update')
    ).map((row) => [row.id, row]),
  );
  const histories = new Map<string, { seq: number; status: ReservationStatus }[]>();
  if (rows.size > 0) {
    const found = await tx
      .select({
        reservationId: reservationTransitions.reservationId,
        seq: reservationTransitions.seq,
        status: reservationTransitions.status,
      })
      .from(reservationTransitions)
      .where(inArray(reservationTransitions.reservationId, [...rows.keys()]));
    for (const t of found) {
      const history = histories.get(t.reservationId) ?? [];
      history.push({ seq: t.seq, status: t.status });
      histories.set(t.reservationId, history);
    }
  }

  const outcomes: AdvanceOutcome[] = [];
  const transitions: (typeof reservationTransitions.$inferInsert)[] = [];
  const ended = new Set<string>();
  const events: OutboxEntry[] = [];
  for (const [index, step] of steps.entries()) {
    const row = rows.get(step.reservationId);
    if (!row) {
      outcomes.push({ kind: 'unknown-reservation' });
      continue;
    }
    const reason = step.facts && implausibility(row, step.facts);
    if (reason) {
      outcomes.push({ kind: 'implausible', reason });
      continue;
    }
    const history = histories.get(row.id) ?? [];
    histories.set(row.id, history);
    const from = currentStatus(history);
    const decision = decide(from, step.input);
    const to = statusAfter(from, decision);
    outcomes.push({ kind: 'applied', from, to, decision });
    if (decision.kind === 'ignore') continue;

    const cancellation = decision.kind === 'cancel' ? decision : undefined;
    const seq = history.length + 1;
    history.push({ seq, status: to });
    transitions.push({
      reservationId: row.id,
      seq,
      status: to,
      reason: cancellation?.reason ?? null,
      failedStep: cancellation?.failedStep ?? null,
      detail: cancellation?.detail ?? null,
      cause: step.cause.cause,
      eventId: step.cause.eventId ?? null,
      at: now,
    });
    if (isFinal(to)) ended.add(row.id);
    if (decision.kind === 'confirm') {
      events.push(
        within(index, () =>
          outboxEntry('reservation.confirmed', sagaRefOf(row, now), { partitionKey: row.id }),
        ),
      );
    }
    if (cancellation) {
      const event: EventOf<'reservation.cancelled'> = {
        ...sagaRefOf(row, now),
        reason: cancellation.reason,
        failedStep: cancellation.failedStep,
        ...(cancellation.detail === undefined ? {} : { detail: cancellation.detail.slice(0, 500) }),
      };
      events.push(within(index, () => outboxEntry('reservation.cancelled', event, { partitionKey: row.id })));
    }
  }
  if (outcomes.some((outcome) => outcome.kind === 'implausible')) return outcomes;

  if (transitions.length > 0) await tx.insert(reservationTransitions).values(transitions);
  if (ended.size > 0) {
    await tx
      .update(reservations)
      .set({ endedAt: now })
      .where(inArray(reservations.id, [...ended]));
  }
  await enqueueAll(tx, events);
  return outcomes;
}

/** Open reservations whose hold has expired, oldest first. */
export async function expiredReservations(db: Executor, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: reservations.id })
    .from(reservations)
    .where(and(isNull(reservations.endedAt), lte(reservations.holdExpiresAt, now)))
    .orderBy(asc(reservations.holdExpiresAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

function sagaRefOf(row: ReservationRow, now: Date) {
  return {
    schemaVersion: 1 as const,
    reservationId: row.id,
    occurredAt: now.toISOString(),
    userId: row.userId,
    showId: row.showId,
    ticketTypeId: row.ticketTypeId,
    quantity: row.quantity,
  };
}

function transitionOf(row: TransitionRow): Transition {
  return {
    seq: row.seq,
    status: row.status,
    reason: (row.reason ?? null) as CancelReason | null,
    failedStep: (row.failedStep ?? null) as SagaStep | null,
    detail: row.detail,
    cause: row.cause,
    at: row.at,
  };
}

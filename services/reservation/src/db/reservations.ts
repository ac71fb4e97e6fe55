// Reservations and their transitions. Every change to a saga goes through `advanceSaga`: it locks the
// reservation row, derives the status from the history, asks the domain what the input means, and
// appends the transition and its event (outbox) in the caller's transaction.
import type { CancelReason, EventOf, PaymentMethod, SagaStep } from '@reservex/contracts';
import type { Database, Executor } from '@reservex/platform/db';
import { enqueue } from '@reservex/platform/outbox';
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
export async function ticketsHeldByUser(db: Executor, userId: string, ticketTypeId: string): Promise<number> {
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

/** Whether the user already has a reservation for the show that has not ended. */
export async function hasOpenReservation(db: Executor, userId: string, showId: string): Promise<boolean> {
  const [open] = await db
    .select({ id: reservations.id })
    .from(reservations)
    .where(
      and(eq(reservations.userId, userId), eq(reservations.showId, showId), isNull(reservations.endedAt)),
    )
    .limit(1);
  return open !== undefined;
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
  const [row] = await tx.select().from(reservations).where(eq(reservations.id, reservationId)).for('update');
  if (!row) return { kind: 'unknown-reservation' };
  const reason = facts && implausibility(row, facts);
  if (reason) return { kind: 'implausible', reason };
  const history = await tx
    .select({ seq: reservationTransitions.seq, status: reservationTransitions.status })
    .from(reservationTransitions)
    .where(eq(reservationTransitions.reservationId, reservationId));
  const from = currentStatus(history);
  const decision = decide(from, input);
  const to = statusAfter(from, decision);
  if (decision.kind === 'ignore') return { kind: 'applied', from, to, decision };

  const cancellation = decision.kind === 'cancel' ? decision : undefined;
  await tx.insert(reservationTransitions).values({
    reservationId,
    seq: history.length + 1,
    status: to,
    reason: cancellation?.reason ?? null,
    failedStep: cancellation?.failedStep ?? null,
    detail: cancellation?.detail ?? null,
    cause: cause.cause,
    eventId: cause.eventId ?? null,
    at: now,
  });
  if (isFinal(to)) {
    await tx.update(reservations).set({ endedAt: now }).where(eq(reservations.id, reservationId));
  }
  if (decision.kind === 'confirm') {
    await enqueue(tx, 'reservation.confirmed', sagaRefOf(row, now), { partitionKey: reservationId });
  }
  if (cancellation) {
    const event: EventOf<'reservation.cancelled'> = {
      ...sagaRefOf(row, now),
      reason: cancellation.reason,
      failedStep: cancellation.failedStep,
      ...(cancellation.detail === undefined ? {} : { detail: cancellation.detail.slice(0, 500) }),
    };
    await enqueue(tx, 'reservation.cancelled', event, { partitionKey: reservationId });
  }
  return { kind: 'applied', from, to, decision };
}

/**
 * Locks the rows of `ids` in id order, in one statement: a transaction that then advances several
 * sagas holds their locks in the same order as any other such transaction, so they cannot deadlock.
 */
export async function lockReservations(tx: Executor, ids: readonly string[]): Promise<void> {
  const distinct = [...new Set(ids)];
  if (distinct.length === 0) return;
  await tx
    .select({ id: reservations.id })
    .from(reservations)
    .where(inArray(reservations.id, distinct))
    .orderBy(asc(reservations.id))
    .for('update');
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

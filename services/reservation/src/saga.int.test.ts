// The saga owner against a real Postgres: participants' events arriving in any order, more than once
// and concurrently, mixed with user cancels, expiry and dead letters, never break a reservation's
// history — it starts PENDING, only moves forward, ends at most once, emits exactly one ending event,
// and ends the way one of its inputs said. Events are handed to the same handlers Dapr deliveries
// reach; transport is exercised by the end-to-end suite.
import { randomBytes, randomUUID } from 'node:crypto';
import type { EventOf, Topic } from '@reservex/contracts';
import type { DatabaseHandle } from '@reservex/platform/db';
import type { DeliveryContext } from '@reservex/platform/events';
import {
  context,
  logger,
  type Span,
  startTelemetry,
  type Telemetry,
  trace,
  traceIdOf,
} from '@reservex/platform/telemetry';
import { batchEntry, withMigratedDatabase } from '@reservex/platform/testing';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { advanceSaga, createReservation, expiredReservations, findReservation } from './db/reservations.ts';
import * as schema from './db/schema.ts';
import { outbox, reservations, spentPasses } from './db/schema.ts';
import { isWellFormed } from './domain/reservation.ts';
import { type HandlerContext, type ParticipantTopic, sagaInBatches } from './events/apply.ts';
import { onDeadLetter } from './events/dead-letter.ts';
import { onPaymentCompleted, paymentCompleted } from './events/payment-completed.ts';
import { onPaymentFailed } from './events/payment-failed.ts';
import { onStockFailed, stockFailed } from './events/stock-failed.ts';
import { onStockReserved, stockReserved } from './events/stock-reserved.ts';
import { onTicketIssueFailed } from './events/ticket-issue-failed.ts';
import { onTicketIssued, ticketIssued } from './events/ticket-issued.ts';
import { migrationsFolder } from './migrations.ts';

type Database = DatabaseHandle<typeof schema>;
const it = withMigratedDatabase({ name: 'reservation_int', schema, migrations: migrationsFolder, max: 12 });

beforeAll(() => {
  logger.level = 'warn';
});

/** What the saga's handlers need: the database and the clock. */
const depsOf = (database: Database): HandlerContext => ({ db: database.db, now: () => new Date() });

const showId = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
const ticketTypeId = '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a';

async function newReservation(
  database: Database,
  userId = `user-${randomUUID()}`,
  holdExpiresAt = new Date(Date.now() + 600_000),
) {
  const created = await createReservation(database.db, {
    id: randomUUID(),
    userId,
    showId,
    ticketTypeId,
    quantity: 2,
    paymentMethod: { token: 'tok_success' },
    holdExpiresAt,
    traceparent: undefined,
    now: new Date(),
    perUserLimit: 100,
  });
  if (created.kind !== 'created') throw new Error('not created');
  return created.reservation;
}

function ctx(topic: string, id: string): DeliveryContext {
  return {
    id,
    topic,
    source: 'test',
    time: undefined,
    traceparent: undefined,
    tracestate: undefined,
    consumer: 'reservation',
    cloudEvent: { id },
    log: logger,
  };
}

/** What reaches the saga owner: a participant's event, or an action inside the service. */
type Input = { kind: ParticipantTopic } | { kind: 'user' | 'expiry' | 'dead-letter' };

/** The saga facts every participant event of `reservation` carries. */
function refOf(reservation: { id: string; userId: string }) {
  return {
    schemaVersion: 1 as const,
    reservationId: reservation.id,
    occurredAt: new Date().toISOString(),
    userId: reservation.userId,
    showId,
    ticketTypeId,
    quantity: 2,
  };
}

const cancelling = new Set([
  'stock.failed',
  'payment.failed',
  'ticket.issue.failed',
  'user',
  'expiry',
  'dead-letter',
]);

async function deliver(
  database: Database,
  reservation: { id: string; userId: string },
  input: Input,
  eventId: string,
) {
  const deps = depsOf(database);
  const reservationId = reservation.id;
  const ref = refOf(reservation);
  const money = { amountMinor: 5000, currency: 'EUR' };
  switch (input.kind) {
    case 'stock.reserved': {
      const event: EventOf<'stock.reserved'> = {
        ...ref,
        ...money,
        unitPriceMinor: 2500,
        paymentMethod: { token: 't' },
      };
      return onStockReserved(deps)(event, ctx(input.kind, eventId));
    }
    case 'stock.failed':
      return onStockFailed(deps)({ ...ref, reason: 'SOLD_OUT', available: 0 }, ctx(input.kind, eventId));
    case 'payment.completed':
      return onPaymentCompleted(deps)(
        { ...ref, ...money, paymentId: randomUUID() },
        ctx(input.kind, eventId),
      );
    case 'payment.failed':
      return onPaymentFailed(deps)({ ...ref, ...money, reason: 'DECLINED' }, ctx(input.kind, eventId));
    case 'ticket.issued':
      return onTicketIssued(deps)(
        { ...ref, ticketIds: [randomUUID(), randomUUID()] },
        ctx(input.kind, eventId),
      );
    case 'ticket.issue.failed':
      return onTicketIssueFailed(deps)({ ...ref, reason: 'show locked' }, ctx(input.kind, eventId));
    case 'dead-letter':
      return onDeadLetter(deps)(
        {
          id: eventId,
          originalTopic: 'stock.reserved',
          source: 'inventory',
          data: ref,
          cloudEvent: { id: eventId },
          verdict: { authentic: true },
        },
        ctx('reservex.deadletter', eventId),
      );
    case 'user':
    case 'expiry':
      return database.db.transaction((tx) =>
        advanceSaga(
          tx,
          reservationId,
          { type: input.kind === 'user' ? 'user.cancelled' : 'hold.expired' },
          { cause: input.kind },
          new Date(),
        ),
      );
  }
}

const reasonOf: Record<string, string> = {
  'stock.failed': 'SOLD_OUT',
  'payment.failed': 'PAYMENT_DECLINED',
  'ticket.issue.failed': 'TICKET_FAILED',
  user: 'USER_CANCELLED',
  expiry: 'EXPIRED',
  'dead-letter': 'REJECTED_EVENT',
};

async function emitted(database: Database, reservationId: string) {
  const rows = await database.db
    .select({ topic: outbox.topic, payload: outbox.payload })
    .from(outbox)
    .where(eq(outbox.partitionKey, reservationId));
  return rows as { topic: Topic; payload: Record<string, unknown> }[];
}

describe('saga owner on a real database', () => {
  it('walks the happy path and emits created then confirmed', async ({ database }) => {
    const r = await newReservation(database);
    for (const kind of ['stock.reserved', 'payment.completed', 'ticket.issued'] as const) {
      await deliver(database, r, { kind }, randomUUID());
    }
    const after = await findReservation(database.db, r.id);
    expect(after?.transitions.map((t) => t.status)).toEqual([
      'PENDING',
      'AWAITING_PAYMENT',
      'AWAITING_TICKETS',
      'CONFIRMED',
    ]);
    expect((await emitted(database, r.id)).map((e) => e.topic).sort()).toEqual([
      'reservation.confirmed',
      'reservation.created',
    ]);
  });

  it('refuses a participant event whose facts are not the reservation’s, and changes nothing', async ({
    database,
  }) => {
    const r = await newReservation(database);
    await deliver(database, r, { kind: 'stock.reserved' }, randomUUID());
    const stranger = { ...r, userId: `user-${randomUUID()}` };
    await expect(deliver(database, stranger, { kind: 'payment.completed' }, randomUUID())).rejects.toThrow(
      /implausible.*userId/,
    );
    const after = await findReservation(database.db, r.id);
    expect(after?.transitions.map((t) => t.status)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
  });

  it('leaves the saga alone for a dead letter its topic owner did not sign', async ({ database }) => {
    const r = await newReservation(database);
    const eventId = randomUUID();
    await onDeadLetter(depsOf(database))(
      {
        id: eventId,
        originalTopic: 'payment.completed',
        source: 'payment',
        data: { reservationId: r.id },
        cloudEvent: { id: eventId },
        verdict: { authentic: false, reason: 'unsigned' },
      },
      ctx('reservex.deadletter', eventId),
    );
    const after = await findReservation(database.db, r.id);
    expect(after?.transitions.map((t) => t.status)).toEqual(['PENDING']);
  });

  it('keeps one open reservation per user and show in the database too', async ({ database }) => {
    const userId = `user-${randomUUID()}`;
    const first = await newReservation(database, userId);
    await expect(newReservation(database, userId)).rejects.toThrow('not created');
    await deliver(database, first, { kind: 'user' }, randomUUID());
    await expect(newReservation(database, userId)).resolves.toMatchObject({ status: 'PENDING' });
  });

  it('finds expired open reservations only', async ({ database }) => {
    const expired = await newReservation(database, undefined, new Date(Date.now() - 1000));
    const fresh = await newReservation(database);
    const ended = await newReservation(database, undefined, new Date(Date.now() - 1000));
    await deliver(database, ended, { kind: 'user' }, randomUUID());
    const due = await expiredReservations(database.db, new Date(), 10_000);
    expect(due).toContain(expired.id);
    expect(due).not.toContain(fresh.id);
    expect(due).not.toContain(ended.id);
  });

  it('any interleaving, duplication and concurrency of its inputs keeps the history sound', async ({
    database,
  }) => {
    const kinds: Input['kind'][] = [
      'stock.reserved',
      'stock.failed',
      'payment.completed',
      'payment.failed',
      'ticket.issued',
      'ticket.issue.failed',
      'user',
      'expiry',
      'dead-letter',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), copies: fc.integer({ min: 1, max: 3 }) }), {
          minLength: 1,
          maxLength: 7,
        }),
        fc.integer({ min: 1, max: 5 }),
        fc.infiniteStream(fc.nat()),
        async (inputs, parallelism, shuffle) => {
          const r = await newReservation(database);
          // Copies of one event share its CloudEvent id, as redeliveries do.
          const deliveries = inputs.flatMap(({ kind, copies }) => {
            const id = randomUUID();
            return Array.from({ length: copies }, () => ({ kind, id }));
          });
          const draws = shuffle.take(deliveries.length)[Symbol.iterator]();
          const order = deliveries
            .map((d) => ({ d, k: draws.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map(({ d }) => d);
          const pending = [...order];
          for (let round = 0; pending.length > 0; round++) {
            if (round > order.length * 10) throw new Error('deliveries kept failing');
            const wave = pending.splice(0, parallelism);
            const results = await Promise.allSettled(
              wave.map((d) => deliver(database, r, { kind: d.kind } as Input, d.id)),
            );
            results.forEach((result, i) => {
              if (result.status === 'rejected') pending.push(wave[i]!);
            });
          }

          const after = (await findReservation(database.db, r.id))!;
          expect(isWellFormed(after.transitions)).toBe(true);
          // Redeliveries add nothing: at most one transition per distinct event, plus PENDING.
          expect(after.transitions.length).toBeLessThanOrEqual(1 + inputs.length);
          const delivered = new Set(inputs.map((i) => i.kind));
          const events = await emitted(database, r.id);
          const count = (topic: Topic) => events.filter((e) => e.topic === topic).length;
          expect(count('reservation.created')).toBe(1);
          const [row] = await database.db.select().from(reservations).where(eq(reservations.id, r.id));
          switch (after.status) {
            case 'CONFIRMED':
              expect(delivered.has('ticket.issued')).toBe(true);
              expect([count('reservation.confirmed'), count('reservation.cancelled')]).toEqual([1, 0]);
              expect(row?.endedAt).not.toBeNull();
              break;
            case 'CANCELLED': {
              const last = after.transitions.at(-1)!;
              const causes = [...delivered].filter((k) => cancelling.has(k)).map((k) => reasonOf[k]);
              expect(causes).toContain(last.reason);
              expect([count('reservation.confirmed'), count('reservation.cancelled')]).toEqual([0, 1]);
              const cancelled = events.find((e) => e.topic === 'reservation.cancelled')!;
              expect(cancelled.payload).toMatchObject({ reason: last.reason, failedStep: last.failedStep });
              expect(row?.endedAt).not.toBeNull();
              break;
            }
            default:
              expect([...delivered].some((k) => cancelling.has(k) || k === 'ticket.issued')).toBe(false);
              expect(count('reservation.confirmed') + count('reservation.cancelled')).toBe(0);
              expect(row?.endedAt).toBeNull();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** An order of the show's ticket type, as booking places it. */
const order = (
  database: Database,
  userId: string,
  quantity: number,
  perUserLimit: number,
  passJti?: string,
) =>
  createReservation(database.db, {
    id: randomUUID(),
    userId,
    showId,
    ticketTypeId,
    quantity,
    paymentMethod: { token: 'tok_success' },
    holdExpiresAt: new Date(Date.now() + 600_000),
    traceparent: undefined,
    now: new Date(),
    perUserLimit,
    ...(passJti === undefined ? {} : { passJti }),
  });

describe('the per-user limit across orders', () => {
  it('counts what the user holds or is buying, not what was cancelled, and refuses past the limit', async ({
    database,
  }) => {
    const userId = `user-${randomUUID()}`;
    const first = await order(database, userId, 2, 3);
    expect(first.kind).toBe('created');
    const firstId = first.kind === 'created' ? first.reservation.id : '';
    // The first order ends without being cancelled (as CONFIRMED does): its tickets count.
    await database.db.update(reservations).set({ endedAt: new Date() }).where(eq(reservations.id, firstId));
    expect(await order(database, userId, 2, 3)).toEqual({ kind: 'over-user-limit', held: 2 });
    expect(await findReservation(database.db, firstId)).toMatchObject({ status: 'PENDING' });

    // A cancelled order frees its tickets for the limit.
    const second = await order(database, `user-${randomUUID()}`, 3, 3);
    expect(second.kind).toBe('created');
    const third = await order(database, userId, 1, 3);
    expect(third.kind).toBe('created');
    const thirdId = third.kind === 'created' ? third.reservation.id : '';
    await database.db.transaction((tx) =>
      advanceSaga(tx, thirdId, { type: 'user.cancelled' }, { cause: 'user' }, new Date()),
    );
    expect((await order(database, userId, 1, 3)).kind).toBe('created');
  });
});

describe('a waiting-room pass', () => {
  const buy = (database: Database, passJti: string) =>
    order(database, `user-${randomUUID()}`, 2, 10, passJti);
  const spentBy = async (database: Database, jti: string) =>
    (await database.db.select().from(spentPasses).where(eq(spentPasses.jti, jti))).map(
      (p) => p.reservationId,
    );

  it('is spent with the reservation it buys, once, and not by an order refused in the same transaction', async ({
    database,
  }) => {
    // Refused inside the transaction (past the limit, counted after the insert): the pass stays unspent.
    const userId = `user-${randomUUID()}`;
    const held = await order(database, userId, 2, 3, randomUUID());
    if (held.kind !== 'created') throw new Error('not created');
    await database.db
      .update(reservations)
      .set({ endedAt: new Date() })
      .where(eq(reservations.id, held.reservation.id));
    const jti = randomUUID();
    expect(await order(database, userId, 2, 3, jti)).toEqual({ kind: 'over-user-limit', held: 2 });
    expect(await spentBy(database, jti)).toEqual([]);

    const bought = await buy(database, jti);
    if (bought.kind !== 'created') throw new Error('not created');
    expect(await spentBy(database, jti)).toEqual([bought.reservation.id]);
    // Spent: a second order with it writes nothing.
    const before = await database.db.select().from(reservations);
    expect(await buy(database, jti)).toEqual({ kind: 'pass-spent' });
    expect(await database.db.select().from(reservations)).toHaveLength(before.length);
  });

  it('bought concurrently by several orders buys exactly one reservation', async ({ database }) => {
    const jti = randomUUID();
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => buy(database, jti)));
    const kinds = outcomes.map((o) => o.kind).sort();
    expect(kinds).toEqual(['created', 'pass-spent', 'pass-spent', 'pass-spent', 'pass-spent']);
    const created = outcomes.find((o) => o.kind === 'created');
    expect(await spentBy(database, jti)).toEqual([created?.kind === 'created' ? created.reservation.id : '']);
  });
});

describe('a bulk delivery of participant events', () => {
  const money = { amountMinor: 5000, currency: 'EUR' };

  it('moves every saga it names in one transaction, each once, and emits their events', async ({
    database,
  }) => {
    const deps = depsOf(database);
    const sagas = await Promise.all([
      newReservation(database),
      newReservation(database),
      newReservation(database),
    ]);
    const reserved = sagas.map((r) =>
      batchEntry('stock.reserved', {
        ...refOf(r),
        ...money,
        unitPriceMinor: 2500,
        paymentMethod: { token: 't' },
      }),
    );
    await sagaInBatches(deps, stockReserved)(reserved);
    // Redelivered together with new events: only the new ones move their sagas.
    const paid = sagas.map((r) =>
      batchEntry('payment.completed', { ...refOf(r), ...money, paymentId: randomUUID() }),
    );
    await sagaInBatches(deps, paymentCompleted)([...paid, paid[0]!]);
    await sagaInBatches(deps, stockReserved)(reserved);
    const issued = sagas.map((r) =>
      batchEntry('ticket.issued', { ...refOf(r), ticketIds: [randomUUID(), randomUUID()] }),
    );
    await sagaInBatches(deps, ticketIssued)(issued);

    for (const saga of sagas) {
      const found = await findReservation(database.db, saga.id);
      expect(found?.transitions.map((t) => t.status)).toEqual([
        'PENDING',
        'AWAITING_PAYMENT',
        'AWAITING_TICKETS',
        'CONFIRMED',
      ]);
      expect((await emitted(database, saga.id)).map((e) => e.topic).sort()).toEqual([
        'reservation.confirmed',
        'reservation.created',
      ]);
    }
  });

  describe('with tracing on', () => {
    let telemetry: Telemetry;
    beforeAll(() => {
      telemetry = startTelemetry({ serviceName: 'reservation' });
    });
    afterAll(() => telemetry.shutdown());

    it("applies two events of one saga one after the other, and each event's answer continues its trace", async ({
      database,
    }) => {
      const deps = depsOf(database);
      const [first, second] = await Promise.all([newReservation(database), newReservation(database)]);
      /** An entry whose consumer span is `traceId`'s, as the subscriber hands it over. */
      const traced = <T extends ParticipantTopic>(
        entry: ReturnType<typeof batchEntry<T>>,
        traceId: string,
      ) => {
        const span = trace.wrapSpanContext({
          traceId,
          spanId: randomBytes(8).toString('hex'),
          traceFlags: 1,
        });
        return {
          ...entry,
          within: <R>(fn: (active: Span) => R): R =>
            context.with(trace.setSpan(context.active(), span), () => fn(span)),
        };
      };
      const traces = [randomUUID(), randomUUID(), randomUUID()].map((id) => id.replaceAll('-', ''));
      const failed = (r: { id: string; userId: string }) =>
        batchEntry('stock.failed', { ...refOf(r), reason: 'SOLD_OUT' as const, available: 0 });
      // The first saga twice (another event id: a participant that answered again), the second once.
      await sagaInBatches(
        deps,
        stockFailed,
      )([
        traced(failed(first), traces[0]!),
        traced(failed(second), traces[1]!),
        traced(failed(first), traces[2]!),
      ]);

      for (const [saga, traceId] of [
        [first, traces[0]],
        [second, traces[1]],
      ] as const) {
        const found = await findReservation(database.db, saga.id);
        expect(found?.transitions.map((t) => t.status)).toEqual(['PENDING', 'CANCELLED']);
        expect(isWellFormed(found!.transitions)).toBe(true);
        const rows = await database.db.select().from(outbox).where(eq(outbox.partitionKey, saga.id));
        const cancelled = rows.filter((row) => row.topic === 'reservation.cancelled');
        expect(cancelled).toHaveLength(1);
        expect(traceIdOf(cancelled[0]?.traceparent)).toBe(traceId);
      }
    });
  });

  it('an implausible event fails its whole delivery, leaving every saga as it was', async ({ database }) => {
    const deps = depsOf(database);
    const [fine, other] = await Promise.all([newReservation(database), newReservation(database)]);
    const delivery = [
      batchEntry('stock.failed', { ...refOf(fine), reason: 'SOLD_OUT', available: 0 }),
      batchEntry('stock.failed', { ...refOf(other), quantity: 3, reason: 'SOLD_OUT', available: 0 }),
    ];
    await expect(sagaInBatches(deps, stockFailed)(delivery)).rejects.toThrow(/implausible/);
    expect((await findReservation(database.db, fine.id))?.status).toBe('PENDING');
    // Alone (as the subscriber then hands it over), the plausible one applies.
    await sagaInBatches(deps, stockFailed)([delivery[0]!]);
    expect((await findReservation(database.db, fine.id))?.status).toBe('CANCELLED');
    expect((await findReservation(database.db, other.id))?.status).toBe('PENDING');
  });
});

// Inventory against a real Postgres: the catalogue API's answers (including every kind of bad
// input), and the stock handlers under random interleavings, duplicates and concurrency of the saga
// events that reach them — for every allocation strategy. The events are handed to the same handler
// functions Dapr deliveries reach (for the batched strategy, gathered into concurrent batches as the
// sidecar's bulk deliveries would be); transport is exercised by the end-to-end suite.
import { randomUUID } from 'node:crypto';
import type { EventOf, PaymentMethod, Topic } from '@reservex/contracts';
import type { DatabaseHandle } from '@reservex/platform/db';
import type { BatchEntry, DeliveryContext } from '@reservex/platform/events';
import { logger, tracer } from '@reservex/platform/telemetry';
import { inboxed, withMigratedDatabase } from '@reservex/platform/testing';
import { and, eq, inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { testClient } from 'hono/testing';
import { beforeAll, describe, expect } from 'vitest';
import { createInventoryApp } from './app.ts';
import { type AllocationStrategy, allocationStrategies } from './db/holds.ts';
import * as schema from './db/schema.ts';
import { holds, outbox, ticketTypes } from './db/schema.ts';
import type { HandlerContext } from './events/context.ts';
import { releaseHeldStockInBatches } from './events/reservation-cancelled.ts';
import { sellStockInBatches } from './events/reservation-confirmed.ts';
import { holdStock, holdStockInBatches } from './events/reservation-created.ts';
import { migrationsFolder } from './migrations.ts';

type Database = DatabaseHandle<typeof schema>;
type App = ReturnType<typeof createInventoryApp>;

/** Inventory's app on a database of the file's own. */
const it = withMigratedDatabase({
  name: 'inventory_int',
  schema,
  migrations: migrationsFolder,
  max: 12,
}).extend<{
  app: App;
}>({
  app: [
    async ({ database }, use) => use(createInventoryApp({ db: database.db, bodyLimitBytes: 4096 })),
    { scope: 'file' },
  ],
});

beforeAll(() => {
  logger.level = 'warn';
});

const adminHeaders = { 'x-user-id': 'admin-1', 'x-user-roles': 'USER,ADMIN' };
const asAdmin = { headers: adminHeaders };
const admin = { 'content-type': 'application/json', ...adminHeaders };
const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
const shows = (app: App) => testClient(app).v1.shows;

/** An answer's status, content type and body, whatever the status (a problem included). */
async function read(response: { status: number; headers: Headers; text(): Promise<string> }) {
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    // biome-ignore lint/suspicious/noExplicitAny: bodies are asserted field by field.
    body: (text ? JSON.parse(text) : undefined) as any,
  };
}

/** A raw request, for what the typed client cannot send: malformed bodies, unknown paths. */
async function call(
  app: App,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = admin,
) {
  return read(
    await app.request(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    }),
  );
}

async function createShow(app: App, capacity: number, perOrderLimit = 4) {
  const created = await read(
    await shows(app).$post(
      {
        json: {
          title: 'Night of the integration test',
          venue: 'Loopback Hall',
          startsAt: '2027-01-01T20:00:00Z',
          ticketTypes: [
            {
              name: 'Standing',
              priceMinor: 2500,
              currency: 'EUR',
              capacity,
              saleStartsAt: hourAgo(),
              perOrderLimit,
              perUserLimit: null,
            },
          ],
        },
      },
      asAdmin,
    ),
  );
  expect(created.status).toBe(201);
  return { showId: created.body.id as string, ticketTypeId: created.body.ticketTypes[0].id as string };
}

describe('catalogue API', () => {
  it('creates a show with ticket types for an admin and shows its availability to anyone', async ({
    app,
  }) => {
    const { showId, ticketTypeId } = await createShow(app, 100);
    const one = await read(await shows(app)[':showId'].$get({ param: { showId } }));
    expect(one.status).toBe(200);
    expect(one.body.ticketTypes).toEqual([
      expect.objectContaining({
        id: ticketTypeId,
        capacity: 100,
        available: 100,
        priceMinor: 2500,
        onSale: true,
      }),
    ]);
    const list = await read(await shows(app).$get({ query: { limit: '100' } }));
    expect(list.body.shows.map((s: { id: string }) => s.id)).toContain(showId);
  });

  it('adds and changes a ticket type; capacity cannot drop below what is held and sold', async ({
    app,
    database,
  }) => {
    const { showId } = await createShow(app, 10);
    const show = shows(app)[':showId'];
    const added = await read(
      await show['ticket-types'].$post(
        {
          param: { showId },
          json: {
            name: 'Balcony',
            priceMinor: 4000,
            currency: 'EUR',
            capacity: 5,
            saleStartsAt: hourAgo(),
            perOrderLimit: 2,
            perUserLimit: null,
          },
        },
        asAdmin,
      ),
    );
    expect(added.status).toBe(201);
    const typeId = added.body.id as string;
    await database.db
      .update(ticketTypes)
      .set({ available: 2, held: 2, sold: 1 })
      .where(eq(ticketTypes.id, typeId));

    const patchType = async (capacity: number) =>
      read(
        await show['ticket-types'][':ticketTypeId'].$patch(
          { param: { showId, ticketTypeId: typeId }, json: { capacity } },
          asAdmin,
        ),
      );
    const shrunk = await patchType(4);
    expect(shrunk.status).toBe(200);
    expect(shrunk.body).toMatchObject({ capacity: 4, available: 1 });
    const tooSmall = await patchType(2);
    expect(tooSmall.status).toBe(409);
    expect(tooSmall.type).toContain('application/problem+json');
    expect(tooSmall.body.committed).toBe(3);

    const renamed = await read(await show.$patch({ param: { showId }, json: { title: 'Renamed' } }, asAdmin));
    expect(renamed.body.title).toBe('Renamed');
  });

  it('refuses admin routes without the ADMIN role', async ({ app }) => {
    const json = { title: 't', venue: 'v', startsAt: '2027-01-01T20:00:00Z' };
    expect((await shows(app).$post({ json })).status).toBe(401);
    const asUser = await read(
      await shows(app).$post({ json }, { headers: { ...adminHeaders, 'x-user-roles': 'USER' } }),
    );
    expect(asUser.status).toBe(403);
    expect(asUser.type).toContain('application/problem+json');
  });

  it('answers bad input with problem+json naming the field, never a 5xx', async ({ app }) => {
    const { showId, ticketTypeId } = await createShow(app, 1);
    const cases: [string, string, unknown, number, string?][] = [
      ['GET', `/v1/shows/${randomUUID()}`, undefined, 404],
      ['GET', '/v1/shows/not-a-uuid', undefined, 422, 'showId'],
      ['POST', '/v1/shows', '{"title": ', 400],
      ['POST', '/v1/shows', { title: '', venue: 'v', startsAt: '2027-01-01T20:00:00Z' }, 422, 'title'],
      ['POST', '/v1/shows', { title: 't', venue: 'v', startsAt: 'tomorrow' }, 422, 'startsAt'],
      ['POST', '/v1/shows', { title: 'x'.repeat(5000), venue: 'v', startsAt: '2027-01-01T20:00:00Z' }, 413],
      [
        'POST',
        `/v1/shows/${showId}/ticket-types`,
        {
          name: 'n',
          priceMinor: -1,
          currency: 'EUR',
          capacity: 1,
          saleStartsAt: hourAgo(),
          perOrderLimit: 1,
        },
        422,
        'priceMinor',
      ],
      [
        'POST',
        `/v1/shows/${showId}/ticket-types`,
        {
          name: 'n',
          priceMinor: 1,
          currency: 'euro',
          capacity: 1.5,
          saleStartsAt: hourAgo(),
          perOrderLimit: 0,
        },
        422,
        'currency',
      ],
      [
        'POST',
        `/v1/shows/${showId}/ticket-types`,
        {
          name: 'n',
          priceMinor: 1,
          currency: 'EUR',
          capacity: 1,
          saleStartsAt: '2027-01-02T00:00:00Z',
          saleEndsAt: '2027-01-01T00:00:00Z',
          perOrderLimit: 1,
        },
        409,
        'saleEndsAt',
      ],
      // The window as stored and as sent together: an end before the stored start is refused too.
      [
        'PATCH',
        `/v1/shows/${showId}/ticket-types/${ticketTypeId}`,
        { saleEndsAt: '2001-01-01T00:00:00Z' },
        409,
        'saleEndsAt',
      ],
      ['PATCH', `/v1/shows/${showId}/ticket-types/${randomUUID()}`, { capacity: 3 }, 404],
      ['PATCH', `/v1/shows/${randomUUID()}`, { title: 'x' }, 404],
    ];
    for (const [method, path, body, status, field] of cases) {
      const answer = await call(app, method, path, body);
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`).toBe(status);
      expect(answer.type).toContain('application/problem+json');
      if (field) expect(JSON.stringify(answer.body.errors ?? answer.body.detail)).toContain(field);
    }
  });

  it('documents every route in its OpenAPI document', async ({ app }) => {
    const doc = await call(app, 'GET', '/openapi.json', undefined, {});
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/shows',
        '/v1/shows/{showId}',
        '/v1/shows/{showId}/ticket-types',
        '/v1/shows/{showId}/ticket-types/{ticketTypeId}',
        '/v1/shows/{showId}/stock',
      ]),
    );
  });
});

// --- the saga events, delivered any way -----------------------------------------------------------

type Booking = { reservationId: string; showId: string; ticketTypeId: string; quantity: number };
type Delivery = {
  topic: 'reservation.created' | 'reservation.confirmed' | 'reservation.cancelled';
  id: string;
  booking: Booking;
};

const card: PaymentMethod = { token: 'tok_success' };

function deliveryContext(topic: Topic, id: string): DeliveryContext {
  return {
    id,
    topic,
    source: 'reservation',
    time: undefined,
    traceparent: undefined,
    tracestate: undefined,
    consumer: 'inventory',
    cloudEvent: { id },
    log: logger.child({ test: 'inventory.int' }),
  };
}

/** Bulk deliveries of one topic: what arrives in the same tick, in batches of up to 4. */
function batching<T extends Topic>(handle: (entries: BatchEntry<T>[]) => Promise<void>) {
  let waiting: { entry: BatchEntry<T>; done: (error?: unknown) => void }[] = [];
  const flush = () => {
    const all = waiting;
    waiting = [];
    for (let i = 0; i < all.length; i += 4) {
      const batch = all.slice(i, i + 4);
      handle(batch.map((b) => b.entry)).then(
        () => {
          for (const b of batch) b.done();
        },
        (error: unknown) => {
          for (const b of batch) b.done(error);
        },
      );
    }
  };
  return (event: EventOf<T>, ctx: DeliveryContext) =>
    new Promise<void>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(flush);
      const span = tracer().startSpan('test delivery');
      waiting.push({
        entry: { event, ctx, within: (fn) => fn(span) },
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
    });
}

function handlersFor(database: Database, strategy: AllocationStrategy) {
  const deps: HandlerContext = { db: database.db, now: () => new Date() };
  // Confirmations and cancellations come in bulk deliveries whatever the strategy, as in the service.
  const hold = strategy === 'batched' ? batching(holdStockInBatches(deps)) : holdStock(deps, strategy);
  const sell = batching(sellStockInBatches(deps));
  const release = batching(releaseHeldStockInBatches(deps));
  return async function deliver({ topic, id, booking }: Delivery) {
    const ref = {
      schemaVersion: 1 as const,
      occurredAt: new Date().toISOString(),
      userId: 'buyer',
      ...booking,
    };
    switch (topic) {
      case 'reservation.created': {
        const event: EventOf<'reservation.created'> = {
          ...ref,
          paymentMethod: card,
          holdExpiresAt: ref.occurredAt,
        };
        return hold(event, deliveryContext(topic, id));
      }
      case 'reservation.confirmed':
        return sell(ref, deliveryContext(topic, id));
      case 'reservation.cancelled':
        return release({ ...ref, reason: 'USER_CANCELLED', failedStep: 'user' }, deliveryContext(topic, id));
    }
  };
}

async function stockOf(database: Database, ticketTypeId: string) {
  const [row] = await database.db.select().from(ticketTypes).where(eq(ticketTypes.id, ticketTypeId));
  return row!;
}

async function eventsFor(database: Database, reservationIds: string[]) {
  if (reservationIds.length === 0) return [];
  return database.db
    .select({ topic: outbox.topic, key: outbox.partitionKey, payload: outbox.payload })
    .from(outbox)
    .where(inArray(outbox.partitionKey, reservationIds));
}

/** Runs deliveries `parallelism` at a time; a delivery that throws is retried later, as Dapr would. */
async function deliverAll(deliver: (d: Delivery) => Promise<void>, queue: Delivery[], parallelism: number) {
  const pending = [...queue];
  let attempts = 0;
  while (pending.length > 0) {
    if (++attempts > queue.length * 10) throw new Error('deliveries kept failing');
    const wave = pending.splice(0, parallelism);
    const results = await Promise.allSettled(wave.map(deliver));
    results.forEach((result, i) => {
      if (result.status === 'rejected') pending.push(wave[i]!);
    });
  }
}

describe.each(allocationStrategies)('stock handlers (%s strategy)', (strategy) => {
  it('never oversells: 40 concurrent buyers of one ticket each for 10 tickets → exactly 10 holds', async ({
    app,
    database,
  }) => {
    const { showId, ticketTypeId } = await createShow(app, 10);
    const bookings = Array.from({ length: 40 }, () => ({
      reservationId: randomUUID(),
      showId,
      ticketTypeId,
      quantity: 1,
    }));
    await deliverAll(
      handlersFor(database, strategy),
      bookings.map((booking) => ({ topic: 'reservation.created', id: randomUUID(), booking })),
      40,
    );
    const stock = await stockOf(database, ticketTypeId);
    expect(stock).toMatchObject({ capacity: 10, available: 0, held: 10, sold: 0 });
    const published = await eventsFor(
      database,
      bookings.map((b) => b.reservationId),
    );
    expect(published.filter((e) => e.topic === 'stock.reserved')).toHaveLength(10);
    const failed = published.filter((e) => e.topic === 'stock.failed');
    expect(failed).toHaveLength(30);
    expect(failed.every((e) => (e.payload as { reason: string }).reason === 'SOLD_OUT')).toBe(true);
  });

  it('prices the hold and carries the payment method forward; refuses what it cannot hold', async ({
    app,
    database,
  }) => {
    const { showId, ticketTypeId } = await createShow(app, 5, 2);
    const deliver = handlersFor(database, strategy);
    const ok = { reservationId: randomUUID(), showId, ticketTypeId, quantity: 2 };
    const tooMany = { reservationId: randomUUID(), showId, ticketTypeId, quantity: 3 };
    const unknown = { reservationId: randomUUID(), showId, ticketTypeId: randomUUID(), quantity: 1 };
    for (const booking of [ok, tooMany, unknown])
      await deliver({ topic: 'reservation.created', id: randomUUID(), booking });
    const published = await eventsFor(database, [
      ok.reservationId,
      tooMany.reservationId,
      unknown.reservationId,
    ]);
    const byKey = (id: string) => published.find((e) => e.key === id)!;
    expect(byKey(ok.reservationId)).toMatchObject({
      topic: 'stock.reserved',
      payload: { unitPriceMinor: 2500, amountMinor: 5000, currency: 'EUR', paymentMethod: card, quantity: 2 },
    });
    expect(byKey(tooMany.reservationId)).toMatchObject({
      topic: 'stock.failed',
      payload: { reason: 'LIMIT_EXCEEDED' },
    });
    expect(byKey(unknown.reservationId)).toMatchObject({
      topic: 'stock.failed',
      payload: { reason: 'UNKNOWN_TICKET_TYPE' },
    });
  });

  it('random interleavings and duplicates of created / confirmed / cancelled keep every invariant', async ({
    app,
    database,
  }) => {
    const deliver = handlersFor(database, strategy);
    const saga = fc.record({
      quantity: fc.integer({ min: 1, max: 3 }),
      outcome: fc.constantFrom('confirm', 'cancel', 'none'),
      copies: fc.integer({ min: 1, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(saga, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.nat()),
        async (capacity, sagas, parallelism, shuffle) => {
          const { showId, ticketTypeId } = await createShow(app, capacity, 3);
          const bookings = sagas.map((s) => ({
            reservationId: randomUUID(),
            showId,
            ticketTypeId,
            quantity: s.quantity,
          }));
          // Each event keeps its CloudEvent id across its copies: redeliveries, as Kafka makes them.
          const created = bookings.map(() => randomUUID());
          const ended = bookings.map(() => randomUUID());
          let order = sagas.flatMap((s, i) =>
            Array.from({ length: s.copies }, () => [
              { topic: 'reservation.created' as const, id: created[i]!, booking: bookings[i]! },
              ...(s.outcome === 'cancel'
                ? [{ topic: 'reservation.cancelled' as const, id: ended[i]!, booking: bookings[i]! }]
                : []),
            ]).flat(),
          );
          const draws = shuffle.take(order.length)[Symbol.iterator]();
          order = order
            .map((d) => ({ d, k: draws.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map(({ d }) => d);
          await deliverAll(deliver, order, parallelism);
          // A confirmation exists only after the hold was reported, as in the saga (ticket.issued
          // needs a payment, which needs stock.reserved); a refused hold is cancelled instead.
          const reserved = new Set(
            (
              await eventsFor(
                database,
                bookings.map((b) => b.reservationId),
              )
            )
              .filter((e) => e.topic === 'stock.reserved')
              .map((e) => e.key),
          );
          const followUps = sagas.flatMap((s, i) => {
            const booking = bookings[i]!;
            if (s.outcome !== 'confirm') return [];
            const topic = reserved.has(booking.reservationId)
              ? ('reservation.confirmed' as const)
              : ('reservation.cancelled' as const);
            return Array.from({ length: s.copies }, () => ({ topic, id: ended[i]!, booking }));
          });
          await deliverAll(deliver, followUps, parallelism);

          const stock = await stockOf(database, ticketTypeId);
          expect(stock.capacity).toBe(stock.available + stock.held + stock.sold);
          expect(Math.min(stock.available, stock.held, stock.sold)).toBeGreaterThanOrEqual(0);
          const rows = await database.db.select().from(holds).where(eq(holds.ticketTypeId, ticketTypeId));
          const sum = (status: string) =>
            rows.filter((r) => r.status === status).reduce((n, r) => n + r.quantity, 0);
          expect(stock.held).toBe(sum('HELD'));
          expect(stock.sold).toBe(sum('SOLD'));

          const published = await eventsFor(
            database,
            bookings.map((b) => b.reservationId),
          );
          sagas.forEach((s, i) => {
            const id = bookings[i]!.reservationId;
            const hold = rows.find((r) => r.reservationId === id);
            const mine = published.filter((e) => e.key === id);
            const count = (topic: string) => mine.filter((e) => e.topic === topic).length;
            expect(count('stock.reserved') + count('stock.failed')).toBeLessThanOrEqual(1);
            expect(count('stock.released')).toBeLessThanOrEqual(count('stock.reserved'));
            const cancelled = s.outcome === 'cancel' || (s.outcome === 'confirm' && !reserved.has(id));
            if (cancelled) {
              // No hold after a cancel, whatever arrived first.
              expect(['RELEASED', 'TOMBSTONE', 'REJECTED']).toContain(hold?.status);
              expect(count('stock.released')).toBe(count('stock.reserved'));
            } else if (s.outcome === 'confirm') {
              expect(hold?.status).toBe('SOLD');
            } else {
              expect(['HELD', 'REJECTED']).toContain(hold?.status);
            }
            if (hold?.status === 'TOMBSTONE') expect(count('stock.reserved') + count('stock.failed')).toBe(0);
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('batched allocation', () => {
  it('decides one delivery in arrival order: duplicates, tombstones and two ticket types in the same batch', async ({
    app,
    database,
  }) => {
    const first = await createShow(app, 3, 2);
    const second = await createShow(app, 1, 2);
    const deps: HandlerContext = { db: database.db, now: () => new Date() };
    const release = batching(releaseHeldStockInBatches(deps));
    const booking = (on: { showId: string; ticketTypeId: string }, quantity: number) => ({
      reservationId: randomUUID(),
      ...on,
      quantity,
    });
    const [a, b, c, d, cancelled] = [
      booking(first, 2),
      booking(first, 2),
      booking(first, 1),
      booking(second, 1),
      booking(second, 1),
    ];
    await release(
      {
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        userId: 'buyer',
        ...cancelled,
        reason: 'USER_CANCELLED',
        failedStep: 'user',
      },
      deliveryContext('reservation.cancelled', randomUUID()),
    );
    const span = tracer().startSpan('test delivery');
    const entry = (on: typeof a, id = randomUUID()): BatchEntry<'reservation.created'> => ({
      event: {
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        userId: 'buyer',
        ...on,
        paymentMethod: card,
        holdExpiresAt: new Date().toISOString(),
      },
      ctx: deliveryContext('reservation.created', id),
      within: (fn) => fn(span),
    });
    const redelivered = entry(a);
    // a takes 2 of 3, b (2) no longer fits, c takes the last one; d takes the second type's only
    // ticket; the cancelled one never holds; a's copy and a second event for c change nothing.
    await holdStockInBatches(deps)([
      redelivered,
      entry(b),
      entry(cancelled),
      entry(c),
      { ...redelivered },
      entry(d),
      entry(c),
    ]);
    expect(await stockOf(database, first.ticketTypeId)).toMatchObject({ available: 0, held: 3 });
    expect(await stockOf(database, second.ticketTypeId)).toMatchObject({ available: 0, held: 1 });
    const published = await eventsFor(
      database,
      [a, b, c, d, cancelled].map((x) => x.reservationId),
    );
    const answer = (x: typeof a) => published.filter((e) => e.key === x.reservationId).map((e) => e.topic);
    expect(answer(a)).toEqual(['stock.reserved']);
    expect(answer(b)).toEqual(['stock.failed']);
    expect(answer(c)).toEqual(['stock.reserved']);
    expect(answer(d)).toEqual(['stock.reserved']);
    expect(answer(cancelled)).toEqual([]);
    const [refusal] = published.filter((e) => e.key === b.reservationId);
    expect(refusal?.payload).toMatchObject({ reason: 'SOLD_OUT', available: 1 });

    // The whole delivery again, as after a lost acknowledgement: nothing moves.
    await holdStockInBatches(deps)([redelivered]);
    expect(await stockOf(database, first.ticketTypeId)).toMatchObject({ available: 0, held: 3 });
    expect(await eventsFor(database, [a.reservationId])).toHaveLength(1);

    // b's saga ends in this service's refusal: its cancel finds nothing held and writes nothing.
    const refusedCancel = randomUUID();
    await release(
      {
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        userId: 'buyer',
        ...b,
        reason: 'SOLD_OUT',
        failedStep: 'stock',
      },
      deliveryContext('reservation.cancelled', refusedCancel),
    );
    expect(await stockOf(database, first.ticketTypeId)).toMatchObject({ available: 0, held: 3 });
    expect(await eventsFor(database, [b.reservationId])).toHaveLength(1);
    expect(await inboxed(database.db, [refusedCancel])).toEqual([]);
  });
});

describe('the database guards the invariant on its own', () => {
  it('refuses a write that breaks capacity = available + held + sold or makes a counter negative', async ({
    app,
    database,
  }) => {
    const { ticketTypeId } = await createShow(app, 3);
    await expect(
      database.db.update(ticketTypes).set({ available: 5 }).where(eq(ticketTypes.id, ticketTypeId)),
    ).rejects.toThrow();
    await expect(
      database.db
        .update(ticketTypes)
        .set({ available: 4, held: -1 })
        .where(and(eq(ticketTypes.id, ticketTypeId))),
    ).rejects.toThrow();
  });
});

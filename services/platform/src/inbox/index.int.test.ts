// Exactly-once effect on real Postgres: the inbox row and the effect commit together, so a
// redelivery — even one racing the first delivery on another connection — has no second effect,
// and a failed effect leaves nothing behind to block the retry.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { eq, sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { createDatabase, type DatabaseHandle, lockKeys } from '../db/index.ts';
import { batchEntry, withMigratedDatabase } from '../testing/index.ts';
import * as schema from '../testing/schema.ts';
import { eachOnceInOneTransaction, handleEachOnce, handleOnce, inbox } from './index.ts';

type Handle = DatabaseHandle<typeof schema>;

// Two connections to the same database, for the races.
const it = withMigratedDatabase({
  name: 'platform_inbox_int',
  schema,
  migrations: fileURLToPath(new URL('../testing/drizzle', import.meta.url)),
}).extend<{ first: Handle; second: Handle }>({
  first: [async ({ database }, use) => use(database), { scope: 'file' }],
  second: [
    async ({ databaseUrl }, use) => {
      const second = createDatabase(databaseUrl, schema);
      try {
        await use(second);
      } finally {
        await second.close();
      }
    },
    { scope: 'file' },
  ],
});

describe('handleOnce', () => {
  const counter = async (first: Handle, name: string) => {
    const [row] = await first.db.select().from(schema.counters).where(eq(schema.counters.name, name));
    return row?.value;
  };
  const increment =
    (name: string) => async (tx: Parameters<Parameters<Handle['db']['transaction']>[0]>[0]) => {
      await tx
        .update(schema.counters)
        .set({ value: sql`${schema.counters.value} + 1` })
        .where(eq(schema.counters.name, name));
    };

  it('applies the effect once; a redelivery of the same event id is acknowledged as duplicate', async ({
    first,
  }) => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name });
    const key = { consumer: 'inventory.hold-stock', eventId: randomUUID(), topic: 'reservation.created' };
    expect(await handleOnce(first.db, key, increment(name))).toBe('handled');
    expect(await handleOnce(first.db, key, increment(name))).toBe('duplicate');
    expect(await counter(first, name)).toBe(1);
    // Another consumer of the same event has its own record.
    expect(await handleOnce(first.db, { ...key, consumer: 'query.timeline' }, increment(name))).toBe(
      'handled',
    );
    expect(await counter(first, name)).toBe(2);
  });

  it('two deliveries racing on two connections: one effect, one duplicate', async ({ first, second }) => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name });
    const key = { consumer: 'payment.charge', eventId: randomUUID() };
    const slowEffect = async (tx: Parameters<ReturnType<typeof increment>>[0]) => {
      await increment(name)(tx);
      await new Promise((resolve) => setTimeout(resolve, 200));
    };
    const outcomes = await Promise.all([
      handleOnce(first.db, key, slowEffect),
      handleOnce(second.db, key, slowEffect),
    ]);
    expect(outcomes.sort()).toEqual(['duplicate', 'handled']);
    expect(await counter(first, name)).toBe(1);
  });

  it('an effect that throws records nothing, so the retry applies it', async ({ first }) => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name });
    const key = { consumer: 'ticket.issue', eventId: randomUUID() };
    await expect(
      handleOnce(first.db, key, async (tx) => {
        await increment(name)(tx);
        throw new Error('card network down');
      }),
    ).rejects.toThrow('card network down');
    expect(await counter(first, name)).toBe(0);
    expect(await first.db.select().from(inbox).where(eq(inbox.eventId, key.eventId))).toEqual([]);
    expect(await handleOnce(first.db, key, increment(name))).toBe('handled');
    expect(await counter(first, name)).toBe(1);
  });
});

describe('handleEachOnce', () => {
  const keyOf = (eventId: string) => ({ consumer: 'inventory', eventId, topic: 'reservation.created' });
  const recordedIds = async (first: Handle, ids: string[]) =>
    (await first.db.select().from(inbox))
      .filter((r) => ids.includes(r.eventId))
      .map((r) => r.eventId)
      .sort();

  it('runs the effect once with the keys not handled before, in the order given, each counted once', async ({
    first,
  }) => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    expect(await handleOnce(first.db, keyOf(b), async () => {})).toBe('handled');
    const seen: string[][] = [];
    const fresh = await handleEachOnce(
      first.db,
      [keyOf(c), keyOf(b), keyOf(a), keyOf(c)],
      async (_tx, keys) => {
        seen.push(keys.map((k) => k.eventId));
      },
    );
    expect(seen).toEqual([[c, a]]);
    expect(fresh.map((k) => k.eventId)).toEqual([c, a]);
    expect(await recordedIds(first, [a, b, c])).toEqual([a, b, c].sort());

    let called = false;
    expect(
      await handleEachOnce(first.db, [keyOf(a), keyOf(c)], async () => {
        called = true;
      }),
    ).toEqual([]);
    expect(called).toBe(false);
  });

  it('an effect that throws records none of the batch', async ({ first }) => {
    const ids = [randomUUID(), randomUUID()];
    await expect(
      handleEachOnce(first.db, ids.map(keyOf), async () => {
        throw new Error('deadlock detected');
      }),
    ).rejects.toThrow('deadlock detected');
    expect(await recordedIds(first, ids)).toEqual([]);
  });

  it('two overlapping batches racing on two connections, keys in opposite orders: each key handled once, no deadlock', async ({
    first,
    second,
  }) => {
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const handled: string[] = [];
    const slowly = async (_tx: unknown, keys: { eventId: string }[]) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      handled.push(...keys.map((k) => k.eventId));
    };
    await Promise.all([
      handleEachOnce(first.db, ids.map(keyOf), slowly),
      handleEachOnce(second.db, [...ids].reverse().map(keyOf), slowly),
    ]);
    expect(handled.sort()).toEqual([...ids].sort());
  });
});

describe('eachOnceInOneTransaction', () => {
  /** A bulk delivery's entry (reservationId names the event's key). */
  const entryOf = (id: string, reservationId: string) =>
    batchEntry(
      'ticket.voided',
      { schemaVersion: 1, reservationId, occurredAt: new Date().toISOString(), ticketIds: [randomUUID()] },
      id,
    );
  const counter = async (db: Handle['db'], name: string) => {
    const [row] = await db.select().from(schema.counters).where(eq(schema.counters.name, name));
    return row?.value ?? 0;
  };

  it('applies each fresh event once, in delivery order, after one lock step; a redelivery is a no-op', async ({
    first,
  }) => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name, value: 0 });
    const applied: string[] = [];
    const locked: string[][] = [];
    const handler = eachOnceInOneTransaction<'ticket.voided', Handle['db']>(first.db, 'ticket', {
      lock: async (_tx, events) => locked.push(events.map((e) => e.reservationId)),
      apply: async (tx, event, ctx) => {
        applied.push(ctx.id);
        await tx
          .update(schema.counters)
          .set({ value: sql`${schema.counters.value} + 1` })
          .where(eq(schema.counters.name, name));
        expect(event.reservationId).toBeTruthy();
      },
    });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await handler([entryOf(a, 'r1'), entryOf(b, 'r2'), entryOf(a, 'r1')]);
    await handler([entryOf(b, 'r2'), entryOf(c, 'r3')]);
    expect(applied).toEqual([a, b, c]);
    expect(locked).toEqual([['r1', 'r2'], ['r3']]);
    expect(await counter(first.db, name)).toBe(3);
  });

  it('an event that throws rolls back its whole delivery; handed over alone afterwards, each applies once', async ({
    first,
  }) => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name, value: 0 });
    let poisonous = true;
    const handler = eachOnceInOneTransaction<'ticket.voided', Handle['db']>(first.db, 'ticket', {
      apply: async (tx, _event, ctx) => {
        if (ctx.id === bad && poisonous) throw new Error('deadlock detected');
        await tx
          .update(schema.counters)
          .set({ value: sql`${schema.counters.value} + 1` })
          .where(eq(schema.counters.name, name));
      },
    });
    const [good, bad, last] = [randomUUID(), randomUUID(), randomUUID()];
    const delivery = [entryOf(good, 'r1'), entryOf(bad, 'r2'), entryOf(last, 'r3')];
    await expect(handler(delivery)).rejects.toThrow('deadlock detected');
    expect(await counter(first.db, name)).toBe(0);
    // What the subscriber does next: each event alone; the failing one is retried later.
    for (const entry of delivery) await handler([entry]).catch(() => undefined);
    expect(await counter(first.db, name)).toBe(2);
    poisonous = false;
    await handler(delivery);
    expect(await counter(first.db, name)).toBe(3);
  });

  it('lockKeys: two transactions locking the same keys in opposite orders do not deadlock', async ({
    first,
    second,
  }) => {
    const keys = Array.from({ length: 20 }, () => `test:${randomUUID()}`);
    const hold = (db: Handle['db'], order: string[]) =>
      db.transaction(async (tx) => {
        await lockKeys(tx, order);
        await new Promise((resolve) => setTimeout(resolve, 100));
      });
    await Promise.all([hold(first.db, keys), hold(second.db, [...keys].reverse())]);
  });
});

// Exactly-once effect on real Postgres: the inbox row and the effect commit together, so a
// redelivery — even one racing the first delivery on another connection — has no second effect,
// and a failed effect leaves nothing behind to block the retry.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from '@reservex/local';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type DatabaseHandle, migrate } from '../db/index.ts';
import * as schema from '../testing/schema.ts';
import { handleOnce, inbox } from './index.ts';

const infra = inject('infra');
const migrations = fileURLToPath(new URL('../testing/drizzle', import.meta.url));

describe('handleOnce', () => {
  let first: DatabaseHandle<typeof schema>;
  let second: DatabaseHandle<typeof schema>;

  beforeAll(async () => {
    const url = await ensureDatabase(infra.postgres, 'platform_inbox_int');
    first = createDatabase(url, schema);
    second = createDatabase(url, schema);
    await migrate(first, migrations);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  const counter = async (name: string) => {
    const [row] = await first.db.select().from(schema.counters).where(eq(schema.counters.name, name));
    return row?.value;
  };
  const increment =
    (name: string) => async (tx: Parameters<Parameters<typeof first.db.transaction>[0]>[0]) => {
      await tx
        .update(schema.counters)
        .set({ value: sql`${schema.counters.value} + 1` })
        .where(eq(schema.counters.name, name));
    };

  it('applies the effect once; a redelivery of the same event id is acknowledged as duplicate', async () => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name });
    const key = { consumer: 'inventory.hold-stock', eventId: randomUUID(), topic: 'reservation.created' };
    expect(await handleOnce(first.db, key, increment(name))).toBe('handled');
    expect(await handleOnce(first.db, key, increment(name))).toBe('duplicate');
    expect(await counter(name)).toBe(1);
    // Another consumer of the same event has its own record.
    expect(await handleOnce(first.db, { ...key, consumer: 'query.timeline' }, increment(name))).toBe(
      'handled',
    );
    expect(await counter(name)).toBe(2);
  });

  it('two deliveries racing on two connections: one effect, one duplicate', async () => {
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
    expect(await counter(name)).toBe(1);
  });

  it('an effect that throws records nothing, so the retry applies it', async () => {
    const name = randomUUID();
    await first.db.insert(schema.counters).values({ name });
    const key = { consumer: 'ticket.issue', eventId: randomUUID() };
    await expect(
      handleOnce(first.db, key, async (tx) => {
        await increment(name)(tx);
        throw new Error('card network down');
      }),
    ).rejects.toThrow('card network down');
    expect(await counter(name)).toBe(0);
    expect(await first.db.select().from(inbox).where(eq(inbox.eventId, key.eventId))).toEqual([]);
    expect(await handleOnce(first.db, key, increment(name))).toBe('handled');
    expect(await counter(name)).toBe(1);
  });
});

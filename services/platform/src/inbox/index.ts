// Idempotent consumption: the CloudEvent id a consumer handled is recorded in the same transaction
// as the effect, so a redelivery (at-least-once transport) finds it and does nothing.

import type { EventOf, Topic } from '@reservex/contracts';
import { sql } from 'drizzle-orm';
import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { Executor, TransactionOf } from '../db/index.ts';
import type { BatchHandler, DeliveryContext } from '../events/index.ts';
import type { Span } from '../telemetry/index.ts';

/** Handled events per consumer. Each service re-exports this table from its drizzle schema. */
export const inbox = pgTable(
  'inbox',
  {
    /** The handler that consumed it (e.g. `inventory.hold-stock`); one event may feed several. */
    consumer: text('consumer').notNull(),
    eventId: text('event_id').notNull(),
    topic: text('topic'),
    handledAt: timestamp('handled_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'inbox_pkey', columns: [table.consumer, table.eventId] })],
);

/**
 * Events this consumer refused and had dead-lettered, with the reason (a bad signature, a broken
 * contract, an implausible step): the sidecar dead-letters without one. Re-exported like the inbox.
 */
export const refusals = pgTable(
  'refused_events',
  {
    consumer: text('consumer').notNull(),
    eventId: text('event_id').notNull(),
    topic: text('topic').notNull(),
    reason: text('reason').notNull(),
    refusedAt: timestamp('refused_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'refused_events_pkey', columns: [table.consumer, table.eventId] })],
);

/** Records why `consumer` refused an event (the latest reason when it was refused again). */
export async function recordRefusal(
  db: Executor,
  refusal: { consumer: string; eventId: string; topic: string; reason: string },
): Promise<void> {
  await db
    .insert(refusals)
    .values(refusal)
    .onConflictDoUpdate({
      target: [refusals.consumer, refusals.eventId],
      set: { topic: refusal.topic, reason: refusal.reason, refusedAt: sql`now()` },
    });
}

export type InboxKey = { consumer: string; eventId: string; topic?: string };
export type InboxOutcome = 'handled' | 'duplicate';

/**
 * Runs `effect` unless this consumer already handled this event. The inbox row is inserted first:
 * a concurrent duplicate blocks on it until the first transaction ends, then sees the row and
 * returns 'duplicate'. If `effect` throws, nothing is recorded and the delivery can be retried.
 */
export async function handleOnce<D extends Executor>(
  db: D,
  key: InboxKey,
  effect: (tx: TransactionOf<D>) => Promise<unknown>,
): Promise<InboxOutcome> {
  return db.transaction(async (tx) => {
    const recorded = await tx
      .insert(inbox)
      .values({ consumer: key.consumer, eventId: key.eventId, topic: key.topic ?? null })
      .onConflictDoNothing()
      .returning({ eventId: inbox.eventId });
    if (recorded.length === 0) return 'duplicate' as const;
    await effect(tx as TransactionOf<D>);
    return 'handled' as const;
  });
}

/**
 * The batch form of handleOnce: one transaction records every key this consumer has not handled
 * yet and runs `effect` with exactly those (in the order given; a key repeated in the batch counts
 * once). Keys are recorded in a fixed order, so two overlapping batches cannot deadlock on them.
 * Returns the keys handled now; the others were duplicates.
 */
export async function handleEachOnce<D extends Executor, K extends InboxKey>(
  db: D,
  keys: readonly K[],
  effect: (tx: TransactionOf<D>, fresh: K[]) => Promise<unknown>,
): Promise<K[]> {
  if (keys.length === 0) return [];
  return db.transaction(async (tx) => {
    const fresh = await recordHandled(tx, keys);
    if (fresh.length > 0) await effect(tx as TransactionOf<D>, fresh);
    return fresh;
  });
}

/**
 * Records, inside the caller's transaction, the keys this consumer has not handled yet, and returns
 * those (in the order given, each once). For a handler whose effect spans several transactions: the
 * keys are recorded in the one that completes the effect.
 */
export async function recordHandled<K extends InboxKey>(tx: Executor, keys: readonly K[]): Promise<K[]> {
  const identity = (key: InboxKey) => `${key.consumer}\u0000${key.eventId}`;
  const distinct = [...new Map(keys.map((key) => [identity(key), key])).values()];
  if (distinct.length === 0) return [];
  const ordered = [...distinct].sort((a, b) => (identity(a) < identity(b) ? -1 : 1));
  const recorded = await tx
    .insert(inbox)
    .values(
      ordered.map((key) => ({ consumer: key.consumer, eventId: key.eventId, topic: key.topic ?? null })),
    )
    .onConflictDoNothing()
    .returning({ consumer: inbox.consumer, eventId: inbox.eventId });
  const isNew = new Set(recorded.map(identity));
  return distinct.filter((key) => isNew.has(identity(key)));
}

/** The inbox key of an event of a bulk delivery, for `consumer`. */
export function inboxKeyOf(
  consumer: string,
  entry: { ctx: Pick<DeliveryContext, 'id' | 'topic'> },
): InboxKey {
  return { consumer, eventId: entry.ctx.id, topic: entry.ctx.topic };
}

/** What `eachOnceInOneTransaction` does with one fresh event of a delivery. */
export type ApplyOne<T extends Topic, Tx> = (
  tx: Tx,
  event: EventOf<T>,
  ctx: DeliveryContext,
  span: Span,
) => Promise<unknown>;

/**
 * A bulk delivery in one transaction: the inbox records each event once (a redelivered one is
 * skipped, in the same transaction), `lock` runs once with the fresh events (take their locks in
 * a fixed order there, so two deliveries cannot deadlock), then `apply` runs for each fresh event in
 * delivery order, inside that event's consumer span. Any throw rolls the whole delivery back, and the
 * subscriber then hands each event over alone.
 */
export function eachOnceInOneTransaction<T extends Topic, D extends Executor>(
  db: D,
  consumer: string,
  steps: {
    lock?: (tx: TransactionOf<D>, events: EventOf<T>[]) => Promise<unknown>;
    apply: ApplyOne<T, TransactionOf<D>>;
  },
): BatchHandler<T> {
  return async (entries) => {
    const keys = entries.map((entry) => ({ ...inboxKeyOf(consumer, entry), entry }));
    await handleEachOnce(db, keys, async (tx, fresh) => {
      await steps.lock?.(
        tx,
        fresh.map(({ entry }) => entry.event),
      );
      for (const { entry } of fresh) {
        await entry.within((span) => steps.apply(tx, entry.event, entry.ctx, span));
      }
    });
  };
}

// Idempotent consumption: the CloudEvent id a consumer handled is recorded in the same transaction
// as the effect, so a redelivery (at-least-once transport) finds it and does nothing.
import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { Executor, TransactionOf } from '../db/index.ts';

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

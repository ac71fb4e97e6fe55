// Dead letters: stored as they arrive, listed for operators, replayed to their original topic by the
// topic's owner, from its own outbox (so a replay is as durable as any other publish).
import { type AppId, events, isTopic, ownerOf, type Topic } from '@reservex/contracts';
import type { DeadLetter } from '@reservex/platform/events';
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { QueryDb, QueryTx } from './read-model.ts';
import { type DeadLetterRow, deadLetters } from './schema.ts';

export async function storeDeadLetter(tx: QueryTx, letter: DeadLetter): Promise<void> {
  const data = letter.data;
  const reservationId =
    typeof data === 'object' &&
    data !== null &&
    'reservationId' in data &&
    typeof data.reservationId === 'string'
      ? data.reservationId
      : null;
  await tx
    .insert(deadLetters)
    .values({
      cloudEventId: letter.id,
      originalTopic: letter.originalTopic ?? topicAttribute(letter) ?? null,
      source: letter.source ?? null,
      reservationId,
      data: data ?? null,
      cloudEvent: letter.cloudEvent,
    })
    .onConflictDoNothing();
}

/** Dapr keeps the original `topic` attribute on a dead-lettered CloudEvent whose type says nothing. */
function topicAttribute(letter: DeadLetter): string | undefined {
  const topic = letter.cloudEvent.topic;
  return typeof topic === 'string' && isTopic(topic) ? topic : undefined;
}

type Cursor = { receivedAt: string; id: string };

export async function listDeadLetters(
  db: QueryDb,
  page: { limit: number; after?: Cursor | undefined },
): Promise<{ items: DeadLetterRow[]; next: Cursor | null }> {
  const after = page.after;
  const rows = await db
    .select()
    .from(deadLetters)
    .where(
      after
        ? or(
            lt(deadLetters.receivedAt, new Date(after.receivedAt)),
            and(eq(deadLetters.receivedAt, new Date(after.receivedAt)), lt(deadLetters.id, after.id)),
          )
        : undefined,
    )
    .orderBy(desc(deadLetters.receivedAt), desc(deadLetters.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items,
    next:
      rows.length > page.limit && last ? { receivedAt: last.receivedAt.toISOString(), id: last.id } : null,
  };
}

export type ReplayOutcome =
  | { outcome: 'replayed'; topic: string; eventId: string; replayCount: number }
  | { outcome: 'not-found' }
  | { outcome: 'not-replayable'; reason: string };

/**
 * Asks the owner of a topic to publish one of its events again (it holds it in its outbox): true when
 * it took it, false when it has no such event (never published by it, or past its outbox retention).
 */
export type AskOwner = (owner: AppId, request: { eventId: string; topic: Topic }) => Promise<boolean>;

/**
 * Replays a dead letter: only the owner of its topic may publish it, so the owner is asked to send its
 * own event again, with the id and payload it first published. The dead letter is checked first, so
 * an operator learns why one cannot be replayed.
 */
export async function replayDeadLetter(db: QueryDb, id: string, askOwner: AskOwner): Promise<ReplayOutcome> {
  const [letter] = await db.select().from(deadLetters).where(eq(deadLetters.id, id));
  if (!letter) return { outcome: 'not-found' as const };
  const topic = letter.originalTopic;
  if (!topic || !isTopic(topic)) {
    return {
      outcome: 'not-replayable' as const,
      reason: `its original topic is unknown (${topic ?? 'none'})`,
    };
  }
  const parsed = events[topic].safeParse(letter.data);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].join(
      ', ',
    );
    return {
      outcome: 'not-replayable' as const,
      reason: `it does not match the ${topic} contract (${fields})`,
    };
  }
  const owner = ownerOf(topic);
  if (!(await askOwner(owner, { eventId: letter.cloudEventId, topic }))) {
    return {
      outcome: 'not-replayable' as const,
      reason: `${owner} holds no event ${letter.cloudEventId} of ${topic} (not published by it, or too old)`,
    };
  }
  const [updated] = await db
    .update(deadLetters)
    .set({ replayCount: sql`${deadLetters.replayCount} + 1`, lastReplayedAt: new Date() })
    .where(eq(deadLetters.id, id))
    .returning({ replayCount: deadLetters.replayCount });
  return {
    outcome: 'replayed' as const,
    topic,
    eventId: letter.cloudEventId,
    replayCount: updated!.replayCount,
  };
}

export async function deadLetterIds(db: QueryDb, options: { onlyNeverReplayed: boolean }): Promise<string[]> {
  const rows = await db
    .select({ id: deadLetters.id })
    .from(deadLetters)
    .where(options.onlyNeverReplayed ? eq(deadLetters.replayCount, 0) : undefined)
    .orderBy(deadLetters.receivedAt);
  return rows.map((row) => row.id);
}

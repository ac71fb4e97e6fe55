// The one publish path: an event is written to the outbox in the same transaction as the change it
// announces, and a relay publishes committed rows through Dapr. Either both the change and the event
// happen or neither does; a crash between commit and publish only delays the event.
import { type EventOf, events, type Topic } from '@reservex/contracts';
import { sql as statement } from 'drizzle-orm';
import type { Executor } from '../db/index.ts';
import { currentTraceContext } from '../telemetry/index.ts';
import { OUTBOX_CHANNEL, outbox } from './table.ts';

export { type Publisher, type Relay, type RelayOptions, startRelay } from './relay.ts';
export {
  askOwnerThrough,
  type ReplayRequest,
  ReplayRequestSchema,
  republish,
  serveReplay,
} from './replay.ts';
export { OUTBOX_CHANNEL, type OutboxRow, outbox } from './table.ts';

/** The payload does not match the topic's contract: a bug in the publisher, never sent. */
export class ContractViolationError extends Error {
  readonly topic: string;
  readonly issues: { path: string; message: string }[];
  constructor(topic: string, issues: { path: string; message: string }[]) {
    super(
      `${topic} payload violates its contract: ${issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}`,
    );
    this.name = 'ContractViolationError';
    this.topic = topic;
    this.issues = issues;
  }
}

export type EnqueueOptions = {
  /** Kafka partition key; use the reservation id so one saga's events stay in order per topic. */
  partitionKey: string;
  /** The row id, which becomes the CloudEvent id. Generated when omitted. */
  id?: string;
};

/** An event checked against its contract and ready to be written to the outbox. */
export type OutboxEntry = {
  id: string;
  topic: Topic;
  partitionKey: string;
  payload: unknown;
  traceparent: string | null;
  tracestate: string | null;
};

/**
 * Validates `data` against the topic's contract and captures the active trace context, so the
 * consumer's span joins this trace. Written by `enqueueAll`.
 */
export function outboxEntry<T extends Topic>(
  topic: T,
  data: EventOf<T>,
  options: EnqueueOptions,
): OutboxEntry {
  const parsed = events[topic].safeParse(data);
  if (!parsed.success) {
    throw new ContractViolationError(
      topic,
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  if (!options.partitionKey) throw new Error(`enqueue ${topic}: partitionKey is required`);
  const trace = currentTraceContext();
  return {
    id: options.id ?? crypto.randomUUID(),
    topic,
    partitionKey: options.partitionKey,
    payload: parsed.data,
    traceparent: trace?.traceparent ?? null,
    tracestate: trace?.tracestate ?? null,
  };
}

/**
 * Records `data` for publication on `topic`, inside the caller's transaction `tx`. Validates the
 * payload against the contract and stores the active trace context so the consumer's span joins
 * this trace. Returns the row id (the future CloudEvent id).
 */
export async function enqueue<T extends Topic>(
  tx: Executor,
  topic: T,
  data: EventOf<T>,
  options: EnqueueOptions,
): Promise<string> {
  const entry = outboxEntry(topic, data, options);
  await enqueueAll(tx, [entry]);
  return entry.id;
}

/** Writes prepared events in one statement, inside the caller's transaction, in the given order. */
export async function enqueueAll(tx: Executor, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(outbox).values(
    entries.map((entry, index) => ({
      ...entry,
      // now() is the same for every row of a transaction; the relay orders by created_at, so rows
      // written together must keep the order they were written in (a microsecond apart at least).
      createdAt: statement`clock_timestamp() + ${index} * interval '1 microsecond'`,
    })),
  );
  // Delivered on commit only (and collapsed with the same topic's other notifies of the transaction):
  // the relay's lane of each topic wakes.
  const topics = statement.join(
    [...new Set(entries.map((entry) => entry.topic))].map((topic) => statement`${topic}`),
    statement`, `,
  );
  await tx.execute(
    statement`select pg_notify(${OUTBOX_CHANNEL}, topic) from unnest(array[${topics}]::text[]) as topic`,
  );
}

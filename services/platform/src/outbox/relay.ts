// Publishes committed outbox rows through Dapr.
//
// A batch is claimed with `FOR UPDATE SKIP LOCKED` and published while the claim is held, so
// several replicas share the work without publishing a row twice; a row is marked sent in the same
// transaction. A crash after publishing but before commit republishes the row with the same
// CloudEvent id, which consumers' inboxes recognise. A committed enqueue NOTIFYs the relay, so the
// happy path has no polling latency; a slow poll covers lost notifications and retry times.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SIGNATURE_ATTRIBUTE, type SigningKey, signEvent } from '@reservex/contracts';
import { backoffDelay } from '../dapr/index.ts';
import type { Sql } from '../db/index.ts';
import {
  contextFromTraceparent,
  currentTraceContext,
  type Logger,
  meter,
  logger as processLogger,
  recordError,
  SpanAttribute,
  SpanKind,
  tracer,
} from '../telemetry/index.ts';
import { OUTBOX_CHANNEL } from './table.ts';

/** What the relay needs from the Dapr client: `createDapr(...)` satisfies it. */
export type Publisher = {
  publish(
    pubsubName: string,
    topic: string,
    data: unknown,
    options: {
      partitionKey?: string;
      id?: string;
      traceparent?: string;
      tracestate?: string;
      extensions?: Record<string, string>;
      source?: string;
    },
  ): Promise<void>;
};

/** The publisher's identity: every event leaves signed with its key (see events/signature.ts). */
export type Signer = { appId: string; key: SigningKey };

export type RelayOptions = {
  /** The postgres.js client of the database that holds the outbox (`createDatabase(...).sql`). */
  sql: Sql;
  /** Accepted for symmetry with the other helpers; the relay works on `sql`. */
  db?: unknown;
  dapr: Publisher;
  pubsubName: string;
  /** Signs each event as the service that publishes it. Unsigned events are refused by consumers. */
  signer?: Signer;
  /** Rows claimed per transaction. Default 50. */
  batchSize?: number;
  /** Partition keys published at the same time (each key's rows stay sequential). Default 16. */
  publishConcurrency?: number;
  /** Fallback poll when no notification arrives. Default 5000 ms. */
  pollIntervalMs?: number;
  /** Back-off after a failed publish: from min to max, doubling per attempt. Default 500 ms–60 s. */
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Sent rows older than this are deleted. Default 24 h. */
  retentionMs?: number;
  logger?: Logger;
};

export type Relay = {
  /** Look for rows now (e.g. after a test inserts one without NOTIFY). */
  wake(): void;
  /** Finish the batch in progress, stop listening. */
  stop(): Promise<void>;
  /** Resolves after the next pass that found nothing left to publish (bounded by `timeoutMs`). */
  idle(timeoutMs?: number): Promise<boolean>;
};

type Claimed = {
  id: string;
  topic: string;
  partition_key: string;
  payload: unknown;
  traceparent: string | null;
  tracestate: string | null;
  attempts: number;
  /** Seconds since the row was written (computed in SQL: drizzle makes timestamps strings). */
  age_seconds: number;
};

export function startRelay(options: RelayOptions): Relay {
  const { sql, dapr, pubsubName } = options;
  const batchSize = options.batchSize ?? 50;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  const publishConcurrency = Math.max(1, options.publishConcurrency ?? 16);
  const retryMin = options.retryMinDelayMs ?? 500;
  const retryMax = options.retryMaxDelayMs ?? 60_000;
  const retentionMs = options.retentionMs ?? 24 * 3_600_000;
  const log = (options.logger ?? processLogger).child({ component: 'outbox-relay' });
  const published = meter().createCounter('outbox.published', { description: 'Outbox rows published' });
  const failures = meter().createCounter('outbox.publish.failures', {
    description: 'Failed publish attempts',
  });
  const lag = meter().createHistogram('outbox.publish.lag', {
    unit: 's',
    description: 'Time from commit of an outbox row to its publication',
  });

  let stopped = false;
  let pending = true;
  let sleeper: (() => void) | undefined;
  let lastCleanup = 0;
  const idleWaiters = new Set<() => void>();

  function wake() {
    pending = true;
    sleeper?.();
  }

  function sleep(ms: number): Promise<void> {
    if (pending || stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        sleeper = undefined;
        resolve();
      }
      sleeper = done;
    });
  }

  const listening = sql.listen(OUTBOX_CHANNEL, wake, wake).catch((error: unknown) => {
    log.warn({ err: error }, 'cannot LISTEN; relying on polling');
    return undefined;
  });

  async function publishBatch(): Promise<{
    claimed: number;
    sent: number;
    nextRetryInMs: number | undefined;
  }> {
    return sql.begin(async (tx) => {
      // A row waits while an older row of its key is unsent (failed and backing off, or being
      // published by another replica): one saga's events leave in the order they were written.
      const rows = await tx<Claimed[]>`
        select id, topic, partition_key, payload, traceparent, tracestate, attempts,
               extract(epoch from clock_timestamp() - created_at)::float8 as age_seconds
        from outbox candidate
        where sent_at is null and next_attempt_at <= now()
          and not exists (
            select 1 from outbox earlier
            where earlier.sent_at is null
              and earlier.partition_key = candidate.partition_key
              and (earlier.created_at, earlier.id) < (candidate.created_at, candidate.id))
        order by created_at, id
        limit ${batchSize}
        for update skip locked`;
      // Keys are published side by side, each key's rows one after the other; after a failure the
      // rest of that key waits for the retry.
      const sent: string[] = [];
      const failed: { row: Claimed; error: unknown }[] = [];
      await inParallel(byKey(rows), publishConcurrency, async (keyRows) => {
        for (const row of keyRows) {
          if (stopped) return;
          try {
            await publishRow(row);
          } catch (error) {
            failed.push({ row, error });
            return;
          }
          sent.push(row.id);
          published.add(1, { topic: row.topic });
          lag.record(row.age_seconds, { topic: row.topic });
        }
      });
      for (const { row, error } of failed) {
        failures.add(1, { topic: row.topic });
        const delay = backoffDelay(row.attempts, retryMin, retryMax);
        log.warn(
          { err: error, outbox_id: row.id, topic: row.topic, attempts: row.attempts + 1 },
          'publish failed',
        );
        const message = error instanceof Error ? error.message : String(error);
        await tx`
          update outbox
          set attempts = attempts + 1, last_error = ${message.slice(0, 2000)},
              next_attempt_at = now() + ${delay} * interval '1 millisecond'
          where id = ${row.id}`;
      }
      if (sent.length > 0) await tx`update outbox set sent_at = now() where id = any(${sent}::uuid[])`;
      // When the earliest backed-off row (of any replica) is due: the relay wakes for it.
      const [due] = await tx<{ ms: number | null }[]>`
        select (extract(epoch from min(next_attempt_at) - clock_timestamp()) * 1000)::float8 as ms
        from outbox where sent_at is null and next_attempt_at > now()`;
      const nextRetryInMs = due?.ms == null ? undefined : Math.max(10, Math.ceil(due.ms));
      return { claimed: rows.length, sent: sent.length, nextRetryInMs };
    });
  }

  async function publishRow(row: Claimed) {
    const parent = contextFromTraceparent(row.traceparent, row.tracestate, ROOT_CONTEXT);
    const reservationId = (row.payload as { reservationId?: unknown } | null)?.reservationId;
    await tracer().startActiveSpan(
      `${row.topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': row.topic,
          'messaging.message.id': row.id,
          'messaging.kafka.message.key': row.partition_key,
          ...(typeof reservationId === 'string' ? { [SpanAttribute.reservationId]: reservationId } : {}),
        },
      },
      parent,
      async (span) => {
        try {
          // The consumer's span becomes a child of this publish span.
          const trace = currentTraceContext();
          const signer = options.signer;
          await dapr.publish(pubsubName, row.topic, row.payload, {
            id: row.id,
            ...(signer
              ? {
                  source: signer.appId,
                  extensions: {
                    [SIGNATURE_ATTRIBUTE]: signEvent(signer.key, {
                      topic: row.topic,
                      id: row.id,
                      type: row.topic,
                      data: row.payload,
                    }),
                  },
                }
              : {}),
            partitionKey: row.partition_key,
            ...(trace ? { traceparent: trace.traceparent } : {}),
            ...(trace?.tracestate ? { tracestate: trace.tracestate } : {}),
          });
          // A saga milestone: what a person following the logs wants to see (npm start shows these).
          log.info({ topic: row.topic, reservation_id: reservationId, outbox_id: row.id }, 'event published');
        } catch (error) {
          recordError(span, error);
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  async function cleanUp() {
    if (Date.now() - lastCleanup < 10 * 60_000) return;
    lastCleanup = Date.now();
    const deleted = await sql`
      delete from outbox where sent_at < now() - ${retentionMs} * interval '1 millisecond'`;
    if (deleted.count > 0) log.debug({ deleted: deleted.count }, 'old outbox rows deleted');
  }

  const loop = (async () => {
    let consecutiveErrors = 0;
    while (!stopped) {
      pending = false;
      let wait = pollIntervalMs;
      try {
        const { claimed, sent, nextRetryInMs } = await publishBatch();
        consecutiveErrors = 0;
        // Go again while passes make progress: a full batch left rows behind, and a published row
        // may have released later rows of its key that this pass skipped. When nothing could be
        // published (the sidecar is down), wait for the retry time instead of spinning.
        if (sent > 0) pending = true;
        if (nextRetryInMs !== undefined) wait = Math.min(wait, nextRetryInMs);
        if (claimed === 0) {
          for (const resolve of idleWaiters) resolve();
          idleWaiters.clear();
          await cleanUp();
        }
      } catch (error) {
        // The database is unreachable or the claim failed: back off, the rows are still there.
        consecutiveErrors++;
        wait = Math.min(wait, backoffDelay(consecutiveErrors, retryMin, retryMax));
        if (!stopped) log.warn({ err: error }, 'outbox pass failed');
      }
      await sleep(wait);
    }
  })();

  return {
    wake,
    async stop() {
      stopped = true;
      sleeper?.();
      await loop;
      const subscription = await listening;
      await subscription?.unlisten().catch(() => undefined);
      for (const resolve of idleWaiters) resolve();
      idleWaiters.clear();
    },
    idle(timeoutMs = 10_000) {
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          idleWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve(true);
        }
        idleWaiters.add(done);
        wake();
      });
    },
  };
}

/** Rows grouped by partition key, each group in claim order. */
function byKey(rows: Claimed[]): Claimed[][] {
  const groups = new Map<string, Claimed[]>();
  for (const row of rows) {
    const group = groups.get(row.partition_key);
    if (group) group.push(row);
    else groups.set(row.partition_key, [row]);
  }
  return [...groups.values()];
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

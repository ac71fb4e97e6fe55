// Publishes committed outbox rows through Dapr.
//
// Each topic has its own lane: a pass claims that topic's due rows with `FOR UPDATE SKIP LOCKED`
// and publishes them in one bulk call while the claim is held, so several replicas (and the two
// passes a lane may have in flight) share the work without publishing a row twice; a row is marked
// sent in the same transaction. A topic's backlog never delays another topic, and a row committed
// while a pass is in flight is claimed by the next pass at once, not after it. A crash after
// publishing but before commit republishes the row with the same CloudEvent id, which consumers'
// inboxes recognise. A committed enqueue NOTIFYs its topics, so the happy path has no polling
// latency; a slow poll covers lost notifications.
//
// Order: a pass claims only the oldest unsent row of each partition key (of its topic), so a bulk
// call never carries two events of one key and a key's next event waits for its predecessor to be
// marked sent. An entry the sidecar could not publish is retried alone, with back-off, and the
// later events of its key wait for it.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SIGNATURE_ATTRIBUTE, type SigningKey, signEvent } from '@reservex/contracts';
import type { TransactionSql } from 'postgres';
import { type BulkPublishEntry, type BulkPublishResult, backoffDelay } from '../dapr/index.ts';
import type { Sql } from '../db/index.ts';
import {
  context,
  contextFromTraceparent,
  currentTraceContext,
  type Logger,
  meter,
  logger as processLogger,
  recordError,
  type Span,
  SpanAttribute,
  SpanKind,
  trace,
  tracer,
  unsampledContext,
} from '../telemetry/index.ts';
import { OUTBOX_CHANNEL } from './table.ts';

/** What the relay needs from the Dapr client: `createDapr(...)` satisfies it. */
export type Publisher = {
  publishBulk(
    pubsubName: string,
    topic: string,
    entries: readonly BulkPublishEntry[],
  ): Promise<BulkPublishResult>;
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
  /** Rows claimed per pass, and so events per bulk call. Default 100. */
  batchSize?: number;
  /** Passes of one topic in flight at once. Default 2. */
  passesPerTopic?: number;
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
  /** Look for rows now, of every topic (e.g. after a test inserts one without NOTIFY). */
  wake(): void;
  /** Finish the passes in progress, stop listening. */
  stop(): Promise<void>;
  /** Resolves once every topic's last pass found nothing left to publish (bounded by `timeoutMs`). */
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
  /** Another unsent row of its key waits behind it. */
  held_back: boolean;
};

type Lane = {
  topic: string;
  inFlight: number;
  /** Rows may be waiting: run a pass as soon as one may start. */
  pending: boolean;
  /** The last pass left nothing behind. */
  drained: boolean;
  /** Notifications (and polls) so far: a pass that saw one arrive goes again. */
  wakes: number;
  errors: number;
  retry: { timer: NodeJS.Timeout; at: number } | undefined;
};

export function startRelay(options: RelayOptions): Relay {
  const { sql, dapr, pubsubName } = options;
  const batchSize = options.batchSize ?? 100;
  const passesPerTopic = Math.max(1, options.passesPerTopic ?? 2);
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
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
  let discovering: Promise<void> | undefined;
  let rediscover = false;
  let lastCleanup = 0;
  const lanes = new Map<string, Lane>();
  const passes = new Set<Promise<void>>();
  const idleWaiters = new Set<() => void>();

  function laneOf(topic: string): Lane {
    let lane = lanes.get(topic);
    if (!lane) {
      lane = { topic, inFlight: 0, pending: false, drained: false, wakes: 0, errors: 0, retry: undefined };
      lanes.set(topic, lane);
    }
    return lane;
  }

  function wakeTopic(topic: string) {
    const lane = laneOf(topic);
    lane.pending = true;
    lane.drained = false;
    lane.wakes++;
    kick(lane);
  }

  /** Every topic with unsent rows, and every lane known, gets a pass. */
  function wake() {
    if (stopped) return;
    for (const lane of lanes.values()) {
      lane.pending = true;
      lane.drained = false;
      lane.wakes++;
    }
    if (discovering) {
      rediscover = true;
      return;
    }
    discovering = (async () => {
      try {
        do {
          rediscover = false;
          const topics = await sql<{ topic: string }[]>`
            select distinct topic from outbox where sent_at is null`;
          for (const { topic } of topics) laneOf(topic).pending = true;
        } while (rediscover && !stopped);
      } catch (error) {
        if (!stopped) log.warn({ err: error }, 'cannot list the outbox topics; the poll tries again');
      } finally {
        discovering = undefined;
      }
      for (const lane of lanes.values()) kick(lane);
      settleIdle();
    })();
  }

  /** Starts passes for `lane` while it has work and room. */
  function kick(lane: Lane) {
    while (!stopped && lane.pending && lane.inFlight < passesPerTopic) {
      lane.pending = false;
      lane.inFlight++;
      const pass: Promise<void> = runPass(lane).finally(() => {
        lane.inFlight--;
        passes.delete(pass);
        kick(lane);
        settleIdle();
      });
      passes.add(pass);
    }
  }

  /** Runs `lane` again in `ms` (kept if an earlier retry is already due sooner). */
  function retryIn(lane: Lane, ms: number) {
    if (stopped) return;
    const at = Date.now() + ms;
    if (lane.retry && lane.retry.at <= at) return;
    if (lane.retry) clearTimeout(lane.retry.timer);
    const timer = setTimeout(() => {
      lane.retry = undefined;
      wakeTopic(lane.topic);
    }, ms);
    timer.unref();
    lane.retry = { timer, at };
  }

  async function runPass(lane: Lane) {
    try {
      const wakesBefore = lane.wakes;
      const { claimed, sent, heldBack, nextRetryInMs } = await publishPass(lane.topic);
      lane.errors = 0;
      // Go again only when the pass may have left rows behind: it was full; or it published the
      // oldest row of a key whose next row was waiting; or rows were notified while it ran (one may
      // wait behind a row of this pass). Otherwise the next notification starts the next pass, and
      // an empty pass (three round trips) is saved. When nothing could be published (the sidecar is
      // down), wait for the retry time instead of spinning.
      const more = claimed >= batchSize || (sent > 0 && (heldBack || lane.wakes !== wakesBefore));
      if (more) lane.pending = true;
      lane.drained = !lane.pending && (claimed === 0 || sent > 0);
      if (nextRetryInMs !== undefined) retryIn(lane, nextRetryInMs);
      if (claimed === 0) await cleanUp();
    } catch (error) {
      // The database is unreachable or the claim failed: back off, the rows are still there.
      lane.errors++;
      lane.drained = false;
      if (!stopped) log.warn({ err: error, topic: lane.topic }, 'outbox pass failed');
      retryIn(lane, backoffDelay(lane.errors, retryMin, retryMax));
    }
  }

  async function publishPass(topic: string): Promise<{
    claimed: number;
    sent: number;
    /** A claimed row's key had a later unsent row, which its publication releases. */
    heldBack: boolean;
    nextRetryInMs: number | undefined;
  }> {
    return sql.begin(async (tx) => {
      // The oldest unsent row of each key only: a row waits while an older row of its key is unsent
      // (failed and backing off, or being published by another pass), so one saga's events leave
      // in the order they were written.
      const rows = await tx<Claimed[]>`
        select id, topic, partition_key, payload, traceparent, tracestate, attempts,
               extract(epoch from clock_timestamp() - created_at)::float8 as age_seconds,
               exists (
                 select 1 from outbox later
                 where later.sent_at is null
                   and later.topic = candidate.topic
                   and later.partition_key = candidate.partition_key
                   and later.id <> candidate.id) as held_back
        from outbox candidate
        where sent_at is null and topic = ${topic} and next_attempt_at <= now()
          and not exists (
            select 1 from outbox earlier
            where earlier.sent_at is null
              and earlier.topic = candidate.topic
              and earlier.partition_key = candidate.partition_key
              and (earlier.created_at, earlier.id) < (candidate.created_at, candidate.id))
        order by created_at, id
        limit ${batchSize}
        for update skip locked`;
      if (rows.length === 0) return { claimed: 0, sent: 0, heldBack: false, nextRetryInMs: undefined };
      if (stopped) throw new Error('relay stopped');

      const failed = await publishRows(topic, rows);
      const sent = rows.filter((row) => !failed.has(row.id)).map((row) => row.id);
      for (const row of rows) {
        const error = failed.get(row.id);
        if (error === undefined) {
          published.add(1, { topic });
          lag.record(row.age_seconds, { topic });
          continue;
        }
        failures.add(1, { topic });
        const delay = backoffDelay(row.attempts, retryMin, retryMax);
        log.warn({ err: error, outbox_id: row.id, topic, attempts: row.attempts + 1 }, 'publish failed');
        await tx`
          update outbox
          set attempts = attempts + 1, last_error = ${error.slice(0, 2000)},
              next_attempt_at = now() + ${delay} * interval '1 millisecond'
          where id = ${row.id}`;
      }
      if (sent.length > 0) await tx`update outbox set sent_at = now() where id = any(${sent}::uuid[])`;
      return {
        claimed: rows.length,
        sent: sent.length,
        heldBack: rows.some((row) => row.held_back),
        nextRetryInMs: failed.size > 0 ? await dueIn(tx, topic) : undefined,
      };
    });
  }

  /** When the earliest backed-off row of `topic` is due: the lane wakes for it (the poll covers other replicas'). */
  async function dueIn(tx: TransactionSql, topic: string): Promise<number | undefined> {
    const [due] = await tx<{ ms: number | null }[]>`
      select (extract(epoch from min(next_attempt_at) - clock_timestamp()) * 1000)::float8 as ms
      from outbox where sent_at is null and topic = ${topic} and next_attempt_at > now()`;
    return due?.ms == null ? undefined : Math.max(10, Math.ceil(due.ms));
  }

  /**
   * One bulk call for the rows, each a whole signed CloudEvent carrying its own publish span's trace
   * context (a child of the trace that wrote the row). Answers the rows that failed, with why.
   */
  async function publishRows(topic: string, rows: Claimed[]): Promise<Map<string, string>> {
    const spans = rows.map((row) => publishSpan(row));
    let failed: Map<string, string>;
    try {
      // The call itself is not part of any saga's trace: each event carries its own.
      const result = await context.with(unsampledContext(), () =>
        dapr.publishBulk(
          pubsubName,
          topic,
          rows.map((row, index) => ({
            entryId: row.id,
            event: cloudEventOf(row, spans[index]!),
            partitionKey: row.partition_key,
          })),
        ),
      );
      failed = result.failed;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed = new Map(rows.map((row) => [row.id, message]));
    }
    rows.forEach((row, index) => {
      const span = spans[index]!;
      const error = failed.get(row.id);
      if (error === undefined) {
        // A saga milestone: what a person following the logs wants to see (npm start shows these).
        log.info({ topic, reservation_id: reservationOf(row), outbox_id: row.id }, 'event published');
      } else {
        recordError(span, new Error(error));
      }
      span.end();
    });
    return failed;
  }

  function publishSpan(row: Claimed): Span {
    const reservationId = reservationOf(row);
    return tracer().startSpan(
      `${row.topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': row.topic,
          'messaging.message.id': row.id,
          'messaging.kafka.message.key': row.partition_key,
          ...(reservationId ? { [SpanAttribute.reservationId]: reservationId } : {}),
        },
      },
      contextFromTraceparent(row.traceparent, row.tracestate, ROOT_CONTEXT),
    );
  }

  /** The CloudEvent as consumers receive it: the consumer's span becomes a child of `span`. */
  function cloudEventOf(row: Claimed, span: Span): Record<string, unknown> {
    const traceContext = currentTraceContext(trace.setSpan(ROOT_CONTEXT, span));
    const signer = options.signer;
    return {
      ...(signer
        ? {
            [SIGNATURE_ATTRIBUTE]: signEvent(signer.key, {
              topic: row.topic,
              id: row.id,
              type: row.topic,
              data: row.payload,
            }),
          }
        : {}),
      specversion: '1.0',
      id: row.id,
      source: signer?.appId ?? 'reservex',
      type: row.topic,
      topic: row.topic,
      pubsubname: pubsubName,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      ...(traceContext ? { traceparent: traceContext.traceparent, traceid: traceContext.traceparent } : {}),
      ...(traceContext?.tracestate ? { tracestate: traceContext.tracestate } : {}),
      data: row.payload,
    };
  }

  async function cleanUp() {
    if (Date.now() - lastCleanup < 10 * 60_000) return;
    lastCleanup = Date.now();
    const deleted = await sql`
      delete from outbox where sent_at < now() - ${retentionMs} * interval '1 millisecond'`;
    if (deleted.count > 0) log.debug({ deleted: deleted.count }, 'old outbox rows deleted');
  }

  function settleIdle() {
    if (idleWaiters.size === 0 || discovering) return;
    for (const lane of lanes.values()) {
      if (lane.inFlight > 0 || lane.pending || !lane.drained) return;
    }
    for (const resolve of idleWaiters) resolve();
    idleWaiters.clear();
  }

  // Notified with the topic of each committed row (an empty payload: look at every topic).
  const listening = sql
    .listen(OUTBOX_CHANNEL, (topic) => (topic ? wakeTopic(topic) : wake()), wake)
    .catch((error: unknown) => {
      log.warn({ err: error }, 'cannot LISTEN; relying on polling');
      return undefined;
    });
  const poll = setInterval(wake, pollIntervalMs);
  poll.unref();
  wake();

  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(poll);
      for (const lane of lanes.values()) if (lane.retry) clearTimeout(lane.retry.timer);
      await discovering;
      await Promise.allSettled([...passes]);
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

function reservationOf(row: Claimed): string | undefined {
  const id = (row.payload as { reservationId?: unknown } | null)?.reservationId;
  return typeof id === 'string' ? id : undefined;
}

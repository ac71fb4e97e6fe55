// One link of the no-op chain: the saga's shape with no business in it, the ceiling `npm run bench`
// measures ReserveX against. Started under a service's app id (inventory, reservation, payment,
// ticket, query) with its own daprd exactly as the service is (startApps: the same daprd flags,
// Components with the topic scopes, Resiliency, access control, mTLS, API tokens, tracing), it
// consumes the topics that service consumes — every one bulk-subscribed — and answers the saga's
// events as the service would, with nothing but a stock counter (inventory) and a status per
// reservation (query) in between:
//
//   reservation.created → inventory → stock.reserved → payment → payment.completed → ticket →
//   ticket.issued → reservation → reservation.confirmed → query (CONFIRMED), inventory (hold → sold)
//   sold out: reservation.created → inventory → stock.failed → reservation → reservation.cancelled
//
// CHAIN_VARIANT=pubsub publishes from the delivery handler (one bulk publish per topic per
// delivery) and keeps its state in memory. CHAIN_VARIANT=outbox handles each bulk delivery in one
// Postgres transaction (inbox rows, the state change, outbox rows) and publishes from a relay that
// claims committed rows and bulk-publishes them per topic. Both trace as the services do (the
// platform's telemetry: server, consumer, producer, Postgres and sidecar-call spans, OTLP export).
import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { type AppId, DEAD_LETTER_TOPIC, type Topic, topology } from '@reservex/contracts';
import { createDatabase, type Sql } from '@reservex/platform/db';
import { startConsumerSpan } from '@reservex/platform/events';
import { fromSidecarOnly } from '@reservex/platform/http';
import {
  context,
  contextFromTraceparent,
  currentTraceContext,
  recordError,
  type Span,
  SpanAttribute,
  SpanKind,
  startTelemetry,
  trace,
  traceRequests,
  tracer,
} from '@reservex/platform/telemetry';
import { Hono } from 'hono';
import type { TransactionSql } from 'postgres';

/** What travels on every hop: the saga's key and its show (inventory's counter). */
export type ChainEvent = { reservationId: string; showId: string };
type Outgoing = { topic: Topic; event: ChainEvent; traceparent: string | undefined; id: string };
type Status = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

/** A context with no span in it: the parent of spans that continue a trace from a traceparent. */
const noSpan = () => trace.deleteSpan(context.active());

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const role = env('SERVICE_NAME') as AppId;
const variant = env('CHAIN_VARIANT');
if (variant !== 'pubsub' && variant !== 'outbox') throw new Error('CHAIN_VARIANT is pubsub or outbox');
const consumes: readonly Topic[] = topology[role].consumes;
const pubsub = env('PUBSUB_NAME');
const daprUrl = `http://127.0.0.1:${env('DAPR_HTTP_PORT')}`;
const daprToken = env('DAPR_API_TOKEN');
const maxMessages = Number(process.env.CHAIN_BATCH_MAX ?? 100);
const maxAwaitMs = Number(process.env.CHAIN_BATCH_WAIT_MS ?? 10);

const telemetry = startTelemetry({
  serviceName: role,
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: process.env.LOG_LEVEL ?? 'warn',
});

const database =
  variant === 'outbox' ? createDatabase(env('DATABASE_URL'), {}, { applicationName: role }) : undefined;
if (database) await migrate(database.sql);

/** The answers of this link to one delivered event: what it publishes next, and its state change. */
function answer(topic: Topic, stock: StockDecision): Topic[] {
  switch (role) {
    case 'inventory':
      if (topic === 'reservation.created') return [stock.take() ? 'stock.reserved' : 'stock.failed'];
      return [];
    case 'payment':
      return topic === 'stock.reserved' ? ['payment.completed'] : [];
    case 'ticket':
      return topic === 'payment.completed' ? ['ticket.issued'] : [];
    case 'reservation':
      if (topic === 'ticket.issued') return ['reservation.confirmed'];
      if (topic === 'stock.failed') return ['reservation.cancelled'];
      return [];
    default:
      return [];
  }
}

/** Inventory's decision for one request of a batch: take a ticket if one is left. */
type StockDecision = { take(): boolean };

// --- state: in memory (pubsub) or in Postgres (outbox) ---------------------------------------------

type Stock = { capacity: number; available: number; held: number; sold: number };
const stockInMemory = new Map<string, Stock>();
const statusInMemory = new Map<string, Status>();

const terminal = (status: Status | undefined) => status === 'CONFIRMED' || status === 'CANCELLED';
function statusAfter(topic: Topic): Status | undefined {
  if (topic === 'reservation.confirmed') return 'CONFIRMED';
  if (topic === 'reservation.cancelled') return 'CANCELLED';
  if (topic === 'reservation.created') return 'PENDING';
  return undefined;
}

async function migrate(sql: Sql) {
  await sql`create table if not exists inbox (consumer text not null, event_id text not null,
    handled_at timestamptz not null default now(), primary key (consumer, event_id))`;
  await sql`create table if not exists outbox (id uuid primary key, topic text not null,
    partition_key text not null, payload jsonb not null, traceparent text,
    created_at timestamptz not null default clock_timestamp(), sent_at timestamptz)`;
  await sql`create index if not exists outbox_pending on outbox (created_at) where sent_at is null`;
  await sql`create table if not exists stock (show_id text primary key, capacity int not null,
    available int not null, held int not null, sold int not null)`;
  await sql`create table if not exists reservations (id text primary key, status text not null)`;
}

// --- bulk deliveries ---------------------------------------------------------------------------------

type BulkEntry = { entryId: string; event: unknown };
type Delivered = { entryId: string; cloudEvent: { id: string; traceparent?: string; data: unknown } };

function decode(entries: BulkEntry[]): Delivered[] {
  return entries.map(({ entryId, event }) => {
    const cloudEvent = (typeof event === 'string' ? JSON.parse(event) : event) as Delivered['cloudEvent'];
    if (typeof cloudEvent.data === 'string') cloudEvent.data = JSON.parse(cloudEvent.data);
    return { entryId, cloudEvent };
  });
}

/** A consumer span per event, continuing its publisher's trace, as the platform's subscriber makes. */
function consumerSpan(topic: Topic, delivered: Delivered, count: number): Span {
  return startConsumerSpan(
    topic,
    delivered.cloudEvent,
    role,
    { 'messaging.batch.message_count': count },
    noSpan(),
  );
}

async function handleBulk(topic: Topic, delivered: Delivered[]): Promise<void> {
  const spans = delivered.map((d) => consumerSpan(topic, d, delivered.length));
  try {
    if (database) await handleInTransaction(database.sql, topic, delivered, spans);
    else await handleInMemory(topic, delivered, spans);
  } catch (error) {
    for (const span of spans) recordError(span, error);
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

function outgoingOf(topics: Topic[], event: ChainEvent, span: Span | undefined): Outgoing[] {
  const traceparent = span ? currentTraceContext(trace.setSpan(noSpan(), span))?.traceparent : undefined;
  return topics.map((next) => ({ topic: next, event, traceparent, id: randomUUID() }));
}

async function handleInMemory(topic: Topic, delivered: Delivered[], spans: Span[]) {
  const outgoing: Outgoing[] = [];
  delivered.forEach((d, i) => {
    const event = d.cloudEvent.data as ChainEvent;
    const stock = stockInMemory.get(event.showId);
    const decision: StockDecision = {
      take() {
        if (!stock || stock.available <= 0) return false;
        stock.available--;
        stock.held++;
        return true;
      },
    };
    if (role === 'inventory' && topic === 'reservation.confirmed' && stock) {
      stock.held--;
      stock.sold++;
    }
    if (role === 'query') {
      const next = statusAfter(topic);
      const now = statusInMemory.get(event.reservationId);
      if (next && !terminal(now)) statusInMemory.set(event.reservationId, next);
    }
    outgoing.push(...outgoingOf(answer(topic, decision), event, spans[i]!));
  });
  await publishAll(outgoing);
}

async function handleInTransaction(sql: Sql, topic: Topic, delivered: Delivered[], spans: Span[]) {
  // The transaction runs in the first event's span, as a batch handler's does.
  await context.with(trace.setSpan(noSpan(), spans[0]!), () =>
    sql.begin(async (tx) => {
      const ids = delivered.map((d) => d.cloudEvent.id).sort();
      const fresh = new Set(
        (
          await tx<{ event_id: string }[]>`
            insert into inbox ${tx(ids.map((id) => ({ consumer: role, event_id: id })))}
            on conflict do nothing returning event_id`
        ).map((row) => row.event_id),
      );
      const events = delivered
        .map((d, i) => ({ event: d.cloudEvent.data as ChainEvent, span: spans[i]!, id: d.cloudEvent.id }))
        .filter((e) => fresh.has(e.id));
      if (events.length === 0) return;
      const outgoing: Outgoing[] = [];
      if (role === 'inventory' && topic === 'reservation.created') {
        // One lock on each show's counter per batch, as the batched strategy takes it.
        const shows = [...new Set(events.map((e) => e.event.showId))].sort();
        for (const showId of shows) {
          const mine = events.filter((e) => e.event.showId === showId);
          const [row] = await tx<{ available: number }[]>`
            select available from stock where show_id = ${showId} for update`;
          const granted = Math.min(row?.available ?? 0, mine.length);
          if (granted > 0)
            await tx`update stock set available = available - ${granted}, held = held + ${granted}
              where show_id = ${showId}`;
          mine.forEach((e, i) => {
            outgoing.push(...outgoingOf([i < granted ? 'stock.reserved' : 'stock.failed'], e.event, e.span));
          });
        }
      } else if (role === 'inventory' && topic === 'reservation.confirmed') {
        const counts = new Map<string, number>();
        for (const e of events) counts.set(e.event.showId, (counts.get(e.event.showId) ?? 0) + 1);
        for (const [showId, n] of [...counts].sort())
          await tx`update stock set held = held - ${n}, sold = sold + ${n} where show_id = ${showId}`;
      } else if (role === 'query') {
        const next = statusAfter(topic);
        if (next)
          await tx`
            insert into reservations ${tx(events.map((e) => ({ id: e.event.reservationId, status: next })))}
            on conflict (id) do update set status = excluded.status
            where reservations.status not in ('CONFIRMED', 'CANCELLED')`;
      } else {
        const never: StockDecision = { take: () => false };
        for (const e of events) outgoing.push(...outgoingOf(answer(topic, never), e.event, e.span));
      }
      await enqueue(tx, outgoing);
    }),
  );
}

async function enqueue(tx: TransactionSql, outgoing: Outgoing[]) {
  if (outgoing.length === 0) return;
  await tx`insert into outbox ${tx(
    outgoing.map((o) => ({
      id: o.id,
      topic: o.topic,
      partition_key: o.event.reservationId,
      payload: JSON.stringify(o.event),
      traceparent: o.traceparent ?? null,
    })),
  )}`;
  await tx`select pg_notify('chain_outbox', '')`;
}

// --- publishing: one bulk publish per topic ----------------------------------------------------------

/** Publishes each topic's events in one bulk call to the sidecar, each with its own producer span. */
async function publishAll(outgoing: Outgoing[]): Promise<void> {
  const byTopic = new Map<Topic, Outgoing[]>();
  for (const o of outgoing) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  await Promise.all([...byTopic].map(([topic, list]) => bulkPublish(topic, list)));
}

async function bulkPublish(topic: Topic, list: Outgoing[]): Promise<void> {
  const spans = list.map((o) =>
    tracer().startSpan(
      `${topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.message.id': o.id,
          'messaging.kafka.message.key': o.event.reservationId,
          'messaging.batch.message_count': list.length,
          [SpanAttribute.reservationId]: o.event.reservationId,
        },
      },
      contextFromTraceparent(o.traceparent, undefined, noSpan()),
    ),
  );
  try {
    const entries = list.map((o, i) => ({
      entryId: String(i),
      event: o.event,
      contentType: 'application/json',
      metadata: {
        partitionKey: o.event.reservationId,
        'cloudevent.id': o.id,
        'cloudevent.type': topic,
        'cloudevent.traceparent': currentTraceContext(trace.setSpan(noSpan(), spans[i]!))!.traceparent,
      },
    }));
    const response = await context.with(trace.setSpan(noSpan(), spans[0]!), () =>
      fetch(`${daprUrl}/v1.0-alpha1/publish/bulk/${pubsub}/${topic}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'dapr-api-token': daprToken },
        body: JSON.stringify(entries),
        signal: AbortSignal.timeout(15_000),
      }),
    );
    const text = await response.text();
    if (response.status !== 204 && response.status !== 200)
      throw new Error(`bulk publish ${topic}: ${response.status} ${text.slice(0, 300)}`);
    const failed = text ? (JSON.parse(text) as { failedEntries?: unknown[] }).failedEntries : undefined;
    if (failed && failed.length > 0)
      throw new Error(`bulk publish ${topic}: ${failed.length} entries failed`);
  } catch (error) {
    for (const span of spans) recordError(span, error);
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

/** The outbox relay: claims committed rows, publishes them in bulk per topic, marks them sent. */
function startRelay(sql: Sql) {
  let pending = true;
  let wakeUp: (() => void) | undefined;
  let stopped = false;
  const wake = () => {
    pending = true;
    wakeUp?.();
  };
  void sql.listen('chain_outbox', wake, wake);
  const loop = (async () => {
    while (!stopped) {
      if (!pending) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wakeUp = undefined;
      }
      pending = false;
      try {
        const sent = await sql.begin(async (tx) => {
          const rows = await tx<
            { id: string; topic: Topic; payload: ChainEvent; traceparent: string | null }[]
          >`select id, topic, payload, traceparent from outbox where sent_at is null
            order by created_at limit 500 for update skip locked`;
          if (rows.length === 0) return 0;
          await publishAll(
            rows.map((row) => ({
              id: row.id,
              topic: row.topic,
              event: row.payload,
              traceparent: row.traceparent ?? undefined,
            })),
          );
          await tx`update outbox set sent_at = now() where id = any(${rows.map((r) => r.id)}::uuid[])`;
          return rows.length;
        });
        if (sent > 0) pending = true;
      } catch (error) {
        process.stderr.write(`relay: ${String(error)}\n`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        pending = true;
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}

// --- the app --------------------------------------------------------------------------------------------

const app = new Hono();
app.use(traceRequests({ serviceName: role }));
app.get('/healthz', (c) => c.json({ status: 'ok' }));
if (process.env.APP_API_TOKEN) app.use(fromSidecarOnly({ token: process.env.APP_API_TOKEN }));
app.onError((error, c) => {
  const status = (error as { status?: number }).status ?? 500;
  return c.json({ error: String(error) }, status as 401 | 500);
});

app.get('/dapr/subscribe', (c) =>
  c.json(
    consumes.map((topic) => ({
      pubsubname: pubsub,
      topic,
      route: `/dapr/events/${topic}`,
      deadLetterTopic: DEAD_LETTER_TOPIC,
      bulkSubscribe: { enabled: true, maxMessagesCount: maxMessages, maxAwaitDurationMs: maxAwaitMs },
    })),
  ),
);
for (const topic of consumes) {
  app.post(`/dapr/events/${topic}`, async (c) => {
    const { entries } = (await c.req.json()) as { entries: BulkEntry[] };
    let status = 'SUCCESS';
    try {
      await handleBulk(topic, decode(entries));
    } catch (error) {
      process.stderr.write(`${topic}: ${String(error)}\n`);
      status = 'RETRY';
    }
    return c.json({ statuses: entries.map(({ entryId }) => ({ entryId, status })) });
  });
}

if (role === 'reservation') {
  // The booking: a reservation id and reservation.created, written (outbox) or published (pubsub).
  app.post('/v1/reservations', async (c) => {
    const { showId } = (await c.req.json()) as { showId: string };
    const event: ChainEvent = { reservationId: randomUUID(), showId };
    const outgoing = outgoingOf(['reservation.created'], event, trace.getActiveSpan());
    if (database)
      await database.sql.begin(async (tx) => {
        await enqueue(tx, outgoing);
      });
    else await publishAll(outgoing);
    return c.json({ id: event.reservationId, status: 'PENDING' }, 201);
  });
}
if (role === 'inventory') {
  app.post('/v1/shows', async (c) => {
    const { capacity } = (await c.req.json()) as { capacity: number };
    const showId = randomUUID();
    const stock = { capacity, available: capacity, held: 0, sold: 0 };
    if (database) await database.sql`insert into stock ${database.sql({ show_id: showId, ...stock })}`;
    else stockInMemory.set(showId, stock);
    return c.json({ id: showId }, 201);
  });
  app.get('/v1/shows/:id/stock', async (c) => {
    const showId = c.req.param('id');
    const stock = database
      ? (
          await database.sql<Stock[]>`
            select capacity, available, held, sold from stock where show_id = ${showId}`
        )[0]
      : stockInMemory.get(showId);
    return stock ? c.json({ stock: [stock] }) : c.json({ error: 'no such show' }, 404);
  });
}
if (role === 'query') {
  app.get('/v1/reservations/:id', async (c) => {
    const id = c.req.param('id');
    const status = database
      ? (await database.sql<{ status: Status }[]>`select status from reservations where id = ${id}`)[0]
          ?.status
      : statusInMemory.get(id);
    // The only way the chain cancels is the sold-out branch.
    const failure = status === 'CANCELLED' ? { reason: 'SOLD_OUT' } : null;
    return status ? c.json({ id, status, failure }) : c.json({ error: 'not yet' }, 404);
  });
}

const relay = database ? startRelay(database.sql) : undefined;
const server = serve({ fetch: app.fetch, port: Number(env('PORT')), hostname: '127.0.0.1' });
process.on('SIGTERM', () => {
  server.close();
  void (async () => {
    await relay?.stop();
    await database?.close();
    await telemetry.shutdown();
    process.exit(0);
  })();
});

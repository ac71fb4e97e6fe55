// The outbox relay against real Postgres and a real daprd publishing to Kafka: woken by NOTIFY
// (no polling delay), one bulk call per topic per pass, safe with several replicas (each row
// published once), retrying a failed entry alone with back-off while later events of the same saga
// wait their turn, and every event arriving with its row's id and trace.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type StartedApps, startApps } from '@reservex/local';
import { inArray } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, inject, vi } from 'vitest';
import { type BulkPublishEntry, createDapr, type Dapr } from '../dapr/index.ts';
import { createDatabase, type DatabaseHandle } from '../db/index.ts';
import { traceIdOf } from '../telemetry/index.ts';
import { withMigratedDatabase } from '../testing/index.ts';
import * as schema from '../testing/schema.ts';
import { enqueue, enqueueAll, outbox, outboxEntry, type Publisher, type Relay, startRelay } from './index.ts';

const infra = inject('infra');
const it = withMigratedDatabase({
  name: 'platform_outbox_int',
  schema,
  migrations: fileURLToPath(new URL('../testing/drizzle', import.meta.url)),
});
// The local stack's probe app: a sidecar host that records what it receives.
const probe = fileURLToPath(new URL('../../../../local/src/test-apps/probe.ts', import.meta.url));
const pubsubName = infra.dapr.components.pubsub;

type Handle = DatabaseHandle<typeof schema>;

function refunded(reservationId: string) {
  return {
    schemaVersion: 1 as const,
    reservationId,
    occurredAt: new Date().toISOString(),
    paymentId: randomUUID(),
    amountMinor: 1000,
    currency: 'EUR',
  };
}

function voided(reservationId: string) {
  return {
    schemaVersion: 1 as const,
    reservationId,
    occurredAt: new Date().toISOString(),
    ticketIds: [randomUUID()],
  };
}

// Polled often: the first test times how soon after its commit a row is published.
const poll = { timeout: 20_000, interval: 20 };

describe('outbox relay', () => {
  let stack: StartedApps<'platform-relay-probe'>;
  let dapr: Dapr;
  const relays: Relay[] = [];
  const handles: Handle[] = [];

  const rows = (database: Handle, ids: string[]) =>
    database.db.select().from(outbox).where(inArray(outbox.id, ids));
  /** The rows once every one of them is sent. */
  const sent = (database: Handle, ids: string[], timeout = poll.timeout) =>
    vi.waitFor(
      async () => {
        const list = await rows(database, ids);
        expect(list.filter((r) => r.sentAt == null).map((r) => r.id)).toEqual([]);
        return list;
      },
      { ...poll, timeout },
    );
  /** What the probe received once it has every one of `ids`. */
  const receivedAll = (ids: string[], timeout = poll.timeout) =>
    vi.waitFor(
      async () => {
        const list = await received();
        expect(ids.filter((id) => !list.some((e) => e.id === id))).toEqual([]);
        return list;
      },
      { ...poll, timeout },
    );
  const received = async () =>
    (await (await fetch(`${stack.apps['platform-relay-probe'].url}/received`)).json()) as {
      topic: string;
      id: string;
      data: { reservationId: string };
      traceparent?: string;
    }[];
  const enqueueMany = (database: Handle, entries: { reservationId: string; partitionKey?: string }[]) =>
    database.db.transaction(async (tx) => {
      const ids: string[] = [];
      for (const entry of entries) {
        ids.push(
          await enqueue(tx, 'ticket.voided', voided(entry.reservationId), {
            partitionKey: entry.partitionKey ?? entry.reservationId,
          }),
        );
      }
      return ids;
    });
  const relay = (databaseUrl: string, options: Partial<Parameters<typeof startRelay>[0]> = {}) => {
    const handle = createDatabase(databaseUrl, schema, { max: 3 });
    handles.push(handle);
    const started = startRelay({ sql: handle.sql, dapr, pubsubName, pollIntervalMs: 60_000, ...options });
    relays.push(started);
    return started;
  };

  beforeAll(async () => {
    stack = await startApps({
      infra,
      apps: [
        {
          appId: 'platform-relay-probe',
          args: [probe],
          env: { PROBE_TOPICS: 'ticket.voided,payment.refunded' },
        },
      ],
    });
    const probeApp = stack.apps['platform-relay-probe'];
    // The sidecar answers only its app: the relay speaks as the app, with its token.
    dapr = createDapr({ httpPort: probeApp.daprHttpPort, apiToken: probeApp.tokens.dapr });
    await dapr.ready();
  });

  // A failed test must not leave a relay publishing into the next one.
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
    await stack?.stop();
  });

  it('publishes a committed row within a second of the commit, woken by NOTIFY rather than the (60 s) poll', async ({
    database,
    databaseUrl,
  }) => {
    const running = relay(databaseUrl);
    expect(await running.idle(10_000)).toBe(true);
    // The sidecar's first publish also connects its Kafka producer; time the second one.
    const [warmUp] = await enqueueMany(database, [{ reservationId: randomUUID() }]);
    await sent(database, [warmUp!]);
    const reservationId = randomUUID();
    const committed = Date.now();
    const [id] = await enqueueMany(database, [{ reservationId }]);
    const [row] = await sent(database, [id!]);
    expect(row?.sentAt).toBeInstanceOf(Date);
    expect(Date.now() - committed).toBeLessThan(1500);

    const events = await receivedAll([id!]);
    expect(events.filter((e) => e.id === id).map((e) => e.data.reservationId)).toEqual([reservationId]);
  });

  /** A publisher that records each bulk call (its topic and entry ids) and passes it to the sidecar. */
  const recorder = (fail: (entry: BulkPublishEntry) => boolean = () => false) => {
    const calls: { topic: string; ids: string[] }[] = [];
    const publisher: Publisher = {
      async publishBulk(pubsub, topic, entries) {
        calls.push({ topic, ids: entries.map((e) => e.entryId) });
        const failing = entries.filter(fail);
        const result = await dapr.publishBulk(
          pubsub,
          topic,
          entries.filter((e) => !failing.includes(e)),
        );
        for (const entry of failing) result.failed.set(entry.entryId, 'sidecar unavailable');
        return result;
      },
    };
    return { calls, publisher };
  };

  it('with two relays on the same table, every row is published exactly once', async ({
    database,
    databaseUrl,
  }) => {
    const { calls, publisher } = recorder();
    relay(databaseUrl, { dapr: publisher, batchSize: 7 });
    relay(databaseUrl, { dapr: publisher, batchSize: 7 });
    const ids = await enqueueMany(
      database,
      Array.from({ length: 120 }, () => ({ reservationId: randomUUID() })),
    );
    await sent(database, ids, 30_000);
    const mine = calls.flatMap((call) => call.ids).filter((id) => ids.includes(id));
    expect(mine).toHaveLength(ids.length);
    expect(new Set(mine).size).toBe(ids.length);

    await receivedAll(ids, 30_000);
  });

  it('publishes one bulk call per topic per pass; each event keeps its row id and trace', async ({
    database,
    databaseUrl,
  }) => {
    const traceId = randomBytes(16).toString('hex');
    const traced = (topic: 'ticket.voided' | 'payment.refunded', reservationId: string) => ({
      ...(topic === 'ticket.voided'
        ? outboxEntry(topic, voided(reservationId), { partitionKey: reservationId })
        : outboxEntry(topic, refunded(reservationId), { partitionKey: reservationId })),
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    });
    const entries = [
      ...Array.from({ length: 12 }, () => traced('ticket.voided', randomUUID())),
      ...Array.from({ length: 5 }, () => traced('payment.refunded', randomUUID())),
    ];
    const { calls, publisher } = recorder();
    // Started and idle first: the commit's notification then starts one pass per topic.
    expect(await relay(databaseUrl, { dapr: publisher }).idle(10_000)).toBe(true);
    await database.db.transaction((tx) => enqueueAll(tx, entries));
    const ids = entries.map((e) => e.id);
    await sent(database, ids);

    const callsOf = (topic: string) => calls.filter((call) => call.topic === topic && call.ids.length > 0);
    expect(callsOf('ticket.voided').map((call) => new Set(call.ids))).toEqual([
      new Set(entries.filter((e) => e.topic === 'ticket.voided').map((e) => e.id)),
    ]);
    expect(callsOf('payment.refunded').map((call) => new Set(call.ids))).toEqual([
      new Set(entries.filter((e) => e.topic === 'payment.refunded').map((e) => e.id)),
    ]);

    const events = await receivedAll(ids);
    for (const entry of entries) {
      const delivered = events.filter((e) => e.id === entry.id);
      expect(delivered).toHaveLength(1);
      expect(delivered[0]).toMatchObject({ topic: entry.topic, data: { reservationId: entry.partitionKey } });
      expect(traceIdOf(delivered[0]!.traceparent)).toBe(traceId);
    }
  });

  it("one topic's backlog does not hold back another topic, nor rows committed while a pass is in flight", async ({
    database,
    databaseUrl,
  }) => {
    // The sidecar takes its time with ticket.voided until released.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowCalls: string[][] = [];
    const publisher: Publisher = {
      async publishBulk(pubsub, topic, entries) {
        if (topic === 'ticket.voided') {
          slowCalls.push(entries.map((e) => e.entryId));
          await gate;
        }
        return dapr.publishBulk(pubsub, topic, entries);
      },
    };
    expect(await relay(databaseUrl, { dapr: publisher }).idle(10_000)).toBe(true);
    const [stuck] = await enqueueMany(database, [{ reservationId: randomUUID() }]);
    await vi.waitFor(() => expect(slowCalls).toHaveLength(1), poll);
    // While that pass is in flight: another topic's row, and a new row of the same topic.
    const refund = outboxEntry('payment.refunded', refunded(randomUUID()), { partitionKey: randomUUID() });
    await database.db.transaction((tx) => enqueueAll(tx, [refund]));
    const [later] = await enqueueMany(database, [{ reservationId: randomUUID() }]);
    await sent(database, [refund.id]);
    await vi.waitFor(() => expect(slowCalls).toEqual([[stuck], [later]]), poll);
    expect((await rows(database, [stuck!, later!])).map((r) => r.sentAt)).toEqual([null, null]);
    release();
    await sent(database, [stuck!, later!]);
  });

  it('retries a failed entry alone with back-off; later events of the same key wait, other keys do not', async ({
    database,
    databaseUrl,
  }) => {
    const saga = randomUUID();
    const other = randomUUID();
    let failuresLeft = 1;
    const { calls, publisher } = recorder(
      (entry) => (entry.event.data as { reservationId: string }).reservationId === saga && failuresLeft-- > 0,
    );
    const running = relay(databaseUrl, { dapr: publisher, retryMinDelayMs: 300, retryMaxDelayMs: 300 });
    expect(await running.idle(10_000)).toBe(true);
    const [first, second, unrelated] = await enqueueMany(database, [
      { reservationId: saga },
      { reservationId: saga },
      { reservationId: other },
    ]);

    const afterFailure = await vi.waitFor(async () => {
      const list = await rows(database, [first!, second!, unrelated!]);
      expect(list.find((r) => r.id === unrelated)?.sentAt).toBeInstanceOf(Date);
      return list;
    }, poll);
    const byId = (list: typeof afterFailure, id: string) => list.find((r) => r.id === id);
    expect(byId(afterFailure, first!)).toMatchObject({
      attempts: 1,
      lastError: 'sidecar unavailable',
      sentAt: null,
    });
    expect(byId(afterFailure, second!)?.sentAt).toBeNull();

    await sent(database, [first!, second!, unrelated!]);
    const withSaga = calls
      .map((call) => call.ids)
      .filter((ids) => ids.includes(first!) || ids.includes(second!));
    // The first call failed only its saga's entry; the retry carried that entry alone, then its successor.
    expect(withSaga).toEqual([expect.arrayContaining([first, unrelated]), [first], [second]]);
    await receivedAll([first!, second!, unrelated!]);
  });

  it('a pass that leaves nothing behind is not followed by an empty one; a held-back row is', async ({
    database,
    databaseUrl,
  }) => {
    const claims: string[] = [];
    const client = postgres(databaseUrl, {
      max: 3,
      onnotice: () => undefined,
      debug: (_connection, query) => {
        if (query.includes('from outbox candidate')) claims.push(query);
      },
    });
    try {
      const alone = await enqueueMany(database, [
        { reservationId: randomUUID() },
        { reservationId: randomUUID() },
      ]);
      const started = startRelay({ sql: client, dapr, pubsubName, pollIntervalMs: 60_000 });
      relays.push(started);
      await sent(database, alone);
      // (idle() would wake the relay for one more look: wait for a pass that goes again instead.)
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Woken by the commit's notification, one pass claimed both rows and published them; nothing
      // was notified meanwhile, no key had a second row: the lane is drained without claiming again.
      expect(claims).toHaveLength(1);

      // Two rows of one key: the pass that publishes the first releases the second, and goes again.
      const saga = randomUUID();
      const pair = await enqueueMany(database, [{ reservationId: saga }, { reservationId: saga }]);
      await sent(database, pair);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The first row's pass goes again for the row it released; that one leaves nothing behind.
      expect(claims).toHaveLength(3);
      const published = await rows(database, pair);
      const at = (id: string) => published.find((row) => row.id === id)!.sentAt!.getTime();
      expect(at(pair[0]!)).toBeLessThanOrEqual(at(pair[1]!));
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it('enqueueAll writes a batch in one go; events of one key are published in the order given', async ({
    database,
    databaseUrl,
  }) => {
    const saga = randomUUID();
    const { calls, publisher } = recorder();
    const entries = Array.from({ length: 25 }, () =>
      outboxEntry('ticket.voided', voided(saga), { partitionKey: saga }),
    );
    await database.db.transaction((tx) => enqueueAll(tx, entries));
    const ids = entries.map((e) => e.id);
    relay(databaseUrl, { dapr: publisher, batchSize: 10 });
    await sent(database, ids);
    expect(calls.flatMap((call) => call.ids).filter((id) => ids.includes(id))).toEqual(ids);
    await expect(
      database.db.transaction((tx) =>
        enqueueAll(tx, [
          outboxEntry('ticket.voided', { ...voided(saga), ticketIds: ['x'] }, { partitionKey: saga }),
        ]),
      ),
    ).rejects.toThrow(/ticketIds/);
  });

  it('after stop() publishes nothing more; the rows wait for the next relay', async ({
    database,
    databaseUrl,
  }) => {
    const running = relay(databaseUrl);
    await running.stop();
    const [id] = await enqueueMany(database, [{ reservationId: randomUUID() }]);
    // A window, not a condition: nothing publishes the row while no relay runs.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await rows(database, [id!]))[0]?.sentAt).toBeNull();

    relay(databaseUrl);
    const [row] = await sent(database, [id!]);
    expect(row?.sentAt).toBeInstanceOf(Date);
  });
});

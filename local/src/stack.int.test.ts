// The local stack itself, on the real infrastructure the global setup started: the servers answer,
// two apps with real sidecars exchange events through Kafka and call each other, an app killed
// with SIGKILL gets, once restarted, what was published while it was down, and a new stack does not
// inherit what an earlier one left unconsumed.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type AppHandle, ensureDatabase, publishAs, type StartedApps, startApps } from './index.ts';
import { ping } from './infra/redis.ts';

const infra = inject('infra');
const probe = fileURLToPath(new URL('./test-apps/probe.ts', import.meta.url));

interface Received {
  topic: string;
  id: string;
  data: { n: number; run: string };
  traceparent?: string;
}

async function received(app: AppHandle, run: string): Promise<Received[]> {
  const response = await fetch(`${app.url}/received`, { signal: AbortSignal.timeout(5000) });
  return ((await response.json()) as Received[]).filter((event) => event.data.run === run);
}

async function publish(app: AppHandle, topic: string, data: unknown): Promise<number> {
  const response = await fetch(`${app.url}/publish/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data),
  });
  return response.status;
}

describe('infrastructure', () => {
  it('Postgres creates a database per service on demand, once, even when asked concurrently', async () => {
    const name = `probe_${randomUUID().slice(0, 8)}`;
    const urls = await Promise.all([
      ensureDatabase(infra.postgres, name),
      ensureDatabase(infra.postgres, name),
    ]);
    expect(urls[0]).toBe(urls[1]);
    const sql = postgres(urls[0]!, { max: 1 });
    try {
      const [row] = await sql<{ db: string }[]>`select current_database() as db`;
      expect(row?.db).toBe(name);
    } finally {
      await sql.end();
    }
  });

  it('Redis answers, and Jaeger serves its query API', async () => {
    expect(await ping(infra.redis.port)).toBe(true);
    const response = await fetch(`${infra.jaeger.uiUrl}/api/services`);
    expect(response.status).toBe(200);
  });
});

describe('apps with their own sidecar', () => {
  const topic = `probe.${randomUUID()}`;
  let started: StartedApps<'sender' | 'receiver'>;

  beforeAll(async () => {
    started = await startApps({
      infra,
      apps: [
        { appId: 'sender', args: [probe] },
        { appId: 'receiver', args: [probe], env: { PROBE_TOPICS: topic } },
      ],
    });
  });
  afterAll(() => started?.stop());

  it('publish through one sidecar reaches the other app through Kafka, with a trace context', async () => {
    const run = randomUUID();
    expect(await publish(started.apps.sender, topic, { n: 1, run })).toBe(204);
    const events = await vi.waitFor(
      async () => {
        const list = await received(started.apps.receiver, run);
        expect(list.length).toBeGreaterThan(0);
        return list;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.topic).toBe(topic);
    expect(events[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('one app invokes another through Dapr service invocation by app id (mTLS between the sidecars)', async () => {
    const response = await fetch(`${started.apps.sender.daprUrl}/v1.0/invoke/receiver/method/echo`, {
      method: 'POST',
      // The sidecar answers only its own app: the sender's Dapr API token.
      headers: { 'dapr-api-token': started.apps.sender.tokens.dapr },
      body: 'hello',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ echoedBy: 'receiver', body: 'hello' });
  });

  it('an app killed with SIGKILL gets, after restart, every event published while it was down', async () => {
    const receiver = started.apps.receiver;
    const pid = receiver.pid();
    const exit = await receiver.kill();
    expect(exit?.signal).toBe('SIGKILL');
    expect(receiver.running()).toBe(false);
    expect(() => process.kill(pid!, 0)).toThrow();

    const run = randomUUID();
    for (const n of [1, 2, 3]) expect(await publish(started.apps.sender, topic, { n, run })).toBe(204);
    await receiver.restart();
    expect(receiver.running()).toBe(true);

    const events = await vi.waitFor(
      async () => {
        const list = await received(receiver, run);
        expect(list.length).toBeGreaterThanOrEqual(3);
        return list;
      },
      { timeout: 45_000, interval: 250 },
    );
    expect(events.map((e) => e.data.n).sort()).toEqual([1, 2, 3]);
    expect(receiver.logs()).toContain('restart of receiver');
  });

  it('a sidecar killed with SIGKILL and restarted resumes delivery to its app', async () => {
    const receiver = started.apps.receiver;
    const sidecar = receiver.sidecar!;
    expect((await sidecar.kill())?.signal).toBe('SIGKILL');
    expect(sidecar.running()).toBe(false);

    const run = randomUUID();
    for (const n of [1, 2]) expect(await publish(started.apps.sender, topic, { n, run })).toBe(204);
    await sidecar.restart();

    // The killed sidecar never left its consumer group: delivery resumes once its session expires.
    const events = await vi.waitFor(
      async () => {
        const list = await received(receiver, run);
        expect(list.length).toBeGreaterThanOrEqual(2);
        return list;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(events.map((e) => e.data.n).sort()).toEqual([1, 2]);
  });

  it('a second instance of an app shares its consumer group: each event reaches one of the two, once', async () => {
    const second = await started.addReplica('receiver');
    expect(started.replicas()).toEqual([second]);
    expect(second.appId).toBe('receiver');
    expect(second.pid()).not.toBe(started.apps.receiver.pid());
    expect(second.url).not.toBe(started.apps.receiver.url);
    expect(second.logFile).toMatch(/receiver\.2\.log$/);

    const run = randomUUID();
    const numbers = Array.from({ length: 12 }, (_, i) => i + 1);
    for (const n of numbers) {
      const sent = await publishAs(
        started.apps.sender,
        infra.dapr.components.pubsub,
        topic,
        { n, run },
        { partitionKey: `${run}-${n}` },
      );
      expect(sent.status).toBe(204);
    }
    const both = await vi.waitFor(
      async () => {
        const list = [...(await received(started.apps.receiver, run)), ...(await received(second, run))];
        expect(list.length).toBeGreaterThanOrEqual(numbers.length);
        return list;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(both.map((e) => e.data.n).sort((a, b) => a - b)).toEqual(numbers);
    await second.stopAll();
  });

  it('a new stack reads what is published from its start on, not what an earlier stack left', async () => {
    // The receiver's stack goes away with an event unconsumed; a new stack's receiver (same app id)
    // must not be handed it. Both events on one partition, so the second arrives after the first.
    await started.apps.receiver.stopAll();
    const run = randomUUID();
    const send = (n: number) =>
      publishAs(started.apps.sender, infra.dapr.components.pubsub, topic, { n, run }, { partitionKey: run });
    expect((await send(1)).status).toBe(204);
    const next = await startApps({
      infra,
      apps: [{ appId: 'receiver', args: [probe], env: { PROBE_TOPICS: topic } }],
    });
    try {
      expect((await send(2)).status).toBe(204);
      const events = await vi.waitFor(
        async () => {
          const list = await received(next.apps.receiver, run);
          expect(list.map((e) => e.data.n)).toContain(2);
          return list;
        },
        { timeout: 30_000, interval: 250 },
      );
      expect(events.map((e) => e.data.n)).toEqual([2]);
    } finally {
      await next.stop();
    }
  });
});

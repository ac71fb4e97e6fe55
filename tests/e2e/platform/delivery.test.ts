// The platform's delivery guarantees on the real stack: two test apps built from the platform
// modules, each with its own daprd, exchanging ticket.voided events over Kafka.
//   outbox  — a change and its event commit together; a crash between commit and publish only
//             delays the event;
//   inbox   — the same CloudEvent id delivered again has no second effect;
//   outcomes — a throwing handler is retried per the Resiliency policy, then dead-lettered; a
//             schema-invalid event is dead-lettered at once and does not block later events;
//   tracing — the HTTP request, the relay's publish and the consumer share one trace in Jaeger.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartedApps, startApps } from '@reservex/local';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { consumerApp, getJson, postJson, producerApp } from './support.ts';

const infra = inject('infra');
const poll = { timeout: 30_000, interval: 250 };
/**
 * The policy's shape with fewer, closer retries (the policy itself, about 25 s of retries, is checked
 * where it is rendered): what this file shows is that a failing handler is retried that many times,
 * then dead-lettered.
 */
const deliveryRetry = { maxRetries: 4, interval: '500ms' };

type Observation = {
  attempts: number;
  deliveries: { id: string; reservationId: string; outcome: 'handled' | 'duplicate'; traceparent?: string }[];
  effects: { eventId: string; ticketCount: number }[];
  deadLetters: { id: string; originalTopic?: string; source?: string; data: unknown }[];
};

describe('event delivery between two apps with real sidecars and Kafka', () => {
  const holdDir = mkdtempSync(join(tmpdir(), 'reservex-relay-hold-'));
  const holdFile = join(holdDir, 'hold');
  let stack: StartedApps<'platform-producer' | 'platform-consumer'>;
  let producerSql: postgres.Sql;

  const producer = () => stack.apps['platform-producer'];
  const consumer = () => stack.apps['platform-consumer'];
  const observe = (reservationId: string) =>
    getJson<Observation>(`${consumer().url}/observations/${reservationId}`);
  const voidTickets = (reservationId: string, headers: Record<string, string> = {}) =>
    postJson(`${producer().url}/voids`, { reservationId, ticketIds: [randomUUID(), randomUUID()] }, headers);
  const outboxRow = async (id: string) => {
    const [row] = await producerSql<{ sent_at: Date | null; attempts: number }[]>`
      select sent_at, attempts from outbox where id = ${id}`;
    return row;
  };

  beforeAll(async () => {
    stack = await startApps({
      infra,
      deliveryRetry,
      apps: [
        {
          appId: 'platform-producer',
          args: [producerApp],
          database: 'platform_producer',
          env: { RELAY_HOLD_FILE: holdFile },
        },
        { appId: 'platform-consumer', args: [consumerApp], database: 'platform_consumer' },
      ],
    });
    producerSql = postgres(producer().env.DATABASE_URL!, { max: 2 });
  });

  afterAll(async () => {
    await producerSql?.end({ timeout: 5 });
    await stack?.stop();
    rmSync(holdDir, { recursive: true, force: true });
  });

  it('a change and its outbox row commit together, the event is delivered once, and a redelivery of the same CloudEvent id has no second effect', async () => {
    const reservationId = randomUUID();
    const created = await voidTickets(reservationId);
    expect(created.status).toBe(201);
    const { outboxId } = created.body as { outboxId: string };

    await expect
      .poll(async () => (await observe(reservationId)).effects, poll)
      .toEqual([{ eventId: outboxId, ticketCount: 2 }]);
    await expect
      .poll(() => outboxRow(outboxId), poll)
      .toMatchObject({ sent_at: expect.any(Date), attempts: 0 });
    // Delivered once: nothing more arrives for it while we watch (the relay does not publish again),
    // so this waits out a window rather than a condition.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await observe(reservationId)).deliveries.map((d) => [d.id, d.outcome])).toEqual([
      [outboxId, 'handled'],
    ]);

    // The relay (or a replica after a crash) publishing the same row again: same CloudEvent id.
    expect((await postJson(`${producer().url}/outbox/${outboxId}/republish`, undefined)).status).toBe(204);
    const second = await vi.waitFor(async () => {
      const o = await observe(reservationId);
      expect(o.deliveries.length).toBeGreaterThanOrEqual(2);
      return o;
    }, poll);
    expect(second.deliveries.map((d) => [d.id, d.outcome])).toEqual([
      [outboxId, 'handled'],
      [outboxId, 'duplicate'],
    ]);
    expect(second.effects).toHaveLength(1);
  });

  it('a handler that throws is retried per the Resiliency policy, then the event is dead-lettered, never acknowledged', async () => {
    const reservationId = randomUUID();
    expect((await postJson(`${consumer().url}/failing-reservations`, { reservationId })).status).toBe(204);
    const created = await voidTickets(reservationId);
    expect(created.status).toBe(201);
    const { outboxId } = created.body as { outboxId: string };

    const seen = await vi.waitFor(async () => {
      const o = await observe(reservationId);
      expect(o.deadLetters).not.toEqual([]);
      return o;
    }, poll);
    expect(seen.deadLetters.map((l) => [l.id, l.originalTopic])).toEqual([[outboxId, 'ticket.voided']]);
    // The first delivery plus every retry of the stack's policy, and not one more.
    expect(seen.attempts).toBe(1 + deliveryRetry.maxRetries);
    expect(seen.deliveries).toEqual([]);
    expect(seen.effects).toEqual([]);
  });

  it('a schema-invalid event goes to the dead-letter topic, and a later event on the same partition still flows', async () => {
    const reservationId = randomUUID();
    const invalid = await postJson(`${producer().url}/raw/ticket.voided`, {
      schemaVersion: 1,
      reservationId,
      occurredAt: new Date().toISOString(),
      ticketIds: ['not-a-uuid'],
    });
    expect(invalid.status).toBe(202);
    const { id: invalidId } = invalid.body as { id: string };
    const valid = await voidTickets(reservationId);
    expect(valid.status).toBe(201);
    const { outboxId } = valid.body as { outboxId: string };

    const seen = await vi.waitFor(async () => {
      const o = await observe(reservationId);
      expect(o.deadLetters).not.toEqual([]);
      expect(o.effects).not.toEqual([]);
      return o;
    }, poll);
    expect(seen.deadLetters.map((l) => l.id)).toEqual([invalidId]);
    expect(seen.deadLetters[0]?.data).toMatchObject({ ticketIds: ['not-a-uuid'] });
    expect(seen.effects).toEqual([{ eventId: outboxId, ticketCount: 2 }]);
    // The invalid event never reached the handler: one attempt, the valid event's.
    expect(seen.attempts).toBe(1);
  });

  it('a publisher killed between commit and publish publishes the row after restart; nothing is lost', async () => {
    // Restart with the relay held, so the row is certainly committed and unpublished when we kill.
    writeFileSync(holdFile, 'held by the test\n');
    await producer().restart();
    const reservationId = randomUUID();
    const created = await voidTickets(reservationId);
    expect(created.status).toBe(201);
    const { outboxId } = created.body as { outboxId: string };
    expect((await outboxRow(outboxId))?.sent_at).toBeNull();

    const exit = await producer().kill();
    expect(exit?.signal).toBe('SIGKILL');
    expect((await observe(reservationId)).deliveries).toEqual([]);
    expect((await outboxRow(outboxId))?.sent_at).toBeNull();

    rmSync(holdFile);
    await producer().restart();
    await expect
      .poll(async () => (await observe(reservationId)).effects, poll)
      .toEqual([{ eventId: outboxId, ticketCount: 2 }]);
    await expect.poll(async () => (await outboxRow(outboxId))?.sent_at, poll).toBeInstanceOf(Date);
  });

  it('the HTTP request span, the relay publish and the consumer span share one trace, as Jaeger shows', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const reservationId = randomUUID();
    const created = await voidTickets(reservationId, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(created.status).toBe(201);

    const seen = await vi.waitFor(async () => {
      const o = await observe(reservationId);
      expect(o.deliveries).not.toEqual([]);
      return o;
    }, poll);
    expect(seen.deliveries[0]?.traceparent?.split('-')[1]).toBe(traceId);

    type JaegerTrace = {
      spans: { spanID: string; operationName: string; processID: string; references: { spanID: string }[] }[];
      processes: Record<string, { serviceName: string }>;
    };
    const wanted = [
      ['platform-producer', 'POST /voids'],
      ['platform-producer', 'ticket.voided publish'],
      ['platform-consumer', 'ticket.voided process'],
    ] as const;
    const spansOf = (trace: JaegerTrace | undefined) =>
      (trace?.spans ?? []).map((span) => ({
        ...span,
        service: trace?.processes[span.processID]?.serviceName,
        parent: span.references[0]?.spanID,
      }));
    const trace = await vi.waitFor(
      async () => {
        const found = (await getJson<{ data: JaegerTrace[] }>(`${infra.jaeger.uiUrl}/api/traces/${traceId}`))
          .data[0];
        const seen = spansOf(found).map((span) => [span.service, span.operationName]);
        for (const step of wanted) expect(seen).toContainEqual(step);
        return found;
      },
      { timeout: 30_000, interval: 500 },
    );
    const spans = spansOf(trace);
    const find = (service: string, name: string) =>
      spans.find((span) => span.service === service && span.operationName === name);
    const request = find('platform-producer', 'POST /voids');
    const publish = find('platform-producer', 'ticket.voided publish');
    const process = find('platform-consumer', 'ticket.voided process');
    expect(request?.parent).toBe(callerSpanId);
    expect(publish?.parent).toBe(request?.spanID);
    // Between publish and process sit only spans of the trace (the sidecars' own, if any).
    const ancestors = (spanId: string | undefined) => {
      const chain: string[] = [];
      for (let id = spanId, hops = 0; id && hops < 20; hops++) {
        chain.push(id);
        id = spans.find((span) => span.spanID === id)?.parent;
      }
      return chain;
    };
    expect(ancestors(process?.spanID)).toContain(publish?.spanID);
  });
});

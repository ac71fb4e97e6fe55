// The read model against a real Postgres: whatever order and duplication the saga's events arrive in
// (also concurrently), the stored ReservationDetails equal the projection of the set of events; and,
// with the real sidecar and Kafka: details, my reservations, live status over SSE, dead letters.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEAD_LETTER_TOPIC, ownerOf, type Topic } from '@reservex/contracts';
import { probeApp, publishAs, type StartedApps, startApps } from '@reservex/local';
import type { BatchEntry } from '@reservex/platform/events';
import { batchEntry, withMigratedDatabase } from '@reservex/platform/testing';
import fc from 'fast-check';
import { hc } from 'hono/client';
import { afterAll, beforeAll, describe, expect, inject, vi } from 'vitest';
import { rebuildReadModel } from '../dev/rebuild-read-model.ts';
import type { createQueryApp } from './app.ts';
import { findDetails } from './db/read-model.ts';
import { schema } from './db/schema.ts';
import { type SagaPath, sagaEvents, sagaPaths } from './domain/projection.fixtures.ts';
import { project, type RecordedEvent } from './domain/projection.ts';
import { projectSagaEvent, projectSagaEvents } from './events/saga-event.ts';

const infra = inject('infra');
type QueryApp = ReturnType<typeof createQueryApp>;
const it = withMigratedDatabase({
  name: 'query_int',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
});

describe('projection (real Postgres)', () => {
  it('stores the same details whatever the arrival order, duplicates and concurrency, alone or in bulk', async ({
    database,
  }) => {
    const { db } = database;
    const projectEvent = projectSagaEvent({ db, consumer: 'query.project' });
    const projectBatch = projectSagaEvents({ db, consumer: 'query.project' });
    const entryOf = (event: RecordedEvent) =>
      batchEntry(event.topic, event.data as never, event.eventId, event.traceparent) as BatchEntry<Topic>;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<SagaPath>(...sagaPaths).chain((path) => {
          const events = sagaEvents(path);
          return fc.tuple(
            fc.constant(events),
            fc.shuffledSubarray(events, { minLength: events.length }),
            fc.array(fc.record({ index: fc.nat({ max: events.length - 1 }), republished: fc.boolean() }), {
              maxLength: 4,
            }),
            fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 8, maxLength: 8 }),
            // One event per delivery, or each batch as two bulk deliveries at once.
            fc.boolean(),
          );
        }),
        async ([events, order, extra, batchSizes, bulk]) => {
          const again: RecordedEvent[] = extra.map(({ index, republished }) => {
            const event = events[index]!;
            return republished ? { ...event, eventId: randomUUID() } : event;
          });
          let rest = [...order, ...again];
          for (const size of [...batchSizes, rest.length]) {
            if (rest.length === 0) break;
            const batch = rest.slice(0, size);
            rest = rest.slice(size);
            const half = Math.ceil(batch.length / 2);
            await Promise.all(
              bulk
                ? [batch.slice(0, half), batch.slice(half)].map((delivery) =>
                    projectBatch(delivery.map(entryOf)),
                  )
                : batch.map((event) =>
                    projectEvent(event.topic, event.data, {
                      id: event.eventId,
                      traceparent: event.traceparent,
                    }),
                  ),
            );
          }
          const reservationId = events[0]!.data.reservationId;
          const stored = await findDetails(db, reservationId, 'user-1');
          const expected = project(reservationId, events);
          // The timeline names each event by the id it first came with; compare everything else.
          const withoutIds = (details: typeof expected | undefined) =>
            details && { ...details, timeline: details.timeline.map(({ eventId: _id, ...entry }) => entry) };
          expect(withoutIds(stored)).toEqual(withoutIds(expected));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('query service with its sidecar (real daprd, Kafka)', () => {
  // The owners of the topics published here stand in as probes: only an owner may publish its topics.
  let started: StartedApps<'query' | 'inventory' | 'reservation' | 'payment' | 'ticket'>;
  let confirmedId: string | undefined;

  beforeAll(async () => {
    started = await startApps({
      infra,
      apps: [
        {
          appId: 'query',
          args: ['services/query/src/main.ts'],
          database: 'query_int_dapr',
          env: { SSE_HEARTBEAT_MS: '1000' },
          readyTimeoutMs: 120_000,
        },
        ...(['inventory', 'reservation', 'payment', 'ticket'] as const).map((appId) => ({
          appId,
          args: [probeApp],
          readyTimeoutMs: 120_000,
        })),
      ],
    });
  });

  afterAll(async () => {
    await started?.stop();
  });

  const url = (path: string) => `${started.apps.query.url}${path}`;
  // What query's sidecar sends when the gateway invokes it for a user.
  const as = (userId: string, roles = 'USER') => ({
    'dapr-api-token': started.apps.query.tokens.app,
    'dapr-caller-app-id': 'gateway',
    'x-user-id': userId,
    'x-user-roles': roles,
  });
  /** Query's routes through hono's typed client, as its sidecar delivers the gateway's call for a user. */
  const api = (userId?: string, roles = 'USER') =>
    hc<QueryApp>(started.apps.query.url, userId ? { headers: as(userId, roles) } : {}).v1;
  // A consumer may publish the dead-letter topic (its sidecar dead-letters there): inventory here.
  const publisherOf = (topic: string) =>
    started.apps[topic === DEAD_LETTER_TOPIC ? 'inventory' : (ownerOf(topic as Topic) as 'inventory')];

  async function publish(
    topic: string,
    data: unknown,
    options: { id: string; type?: string; partitionKey: string },
  ) {
    // As the owner publishes: signed with its key, which query verifies before anything else.
    const response = await publishAs(publisherOf(topic), infra.dapr.components.pubsub, topic, data, {
      'cloudevent.id': options.id,
      partitionKey: options.partitionKey,
      ...(options.type ? { 'cloudevent.type': options.type } : {}),
    });
    expect(response.status).toBe(204);
  }

  const publishEvent = (event: RecordedEvent, id = event.eventId) =>
    publish(event.topic, event.data, { id, partitionKey: event.data.reservationId });

  const poll = { timeout: 30_000, interval: 250 };

  type Details = {
    status?: string;
    timeline?: unknown[];
    traceId?: string | null;
    payment?: { status: string } | null;
  };
  const details = async (reservationId: string, userId = 'user-1') =>
    (await (
      await api(userId).reservations[':reservationId'].$get({ param: { reservationId } })
    ).json()) as Details;

  it('shows a confirmed reservation, its timeline and trace id, to its buyer only; live over SSE', async () => {
    const events = sagaEvents('confirmed');
    const reservationId = events[0]!.data.reservationId;
    confirmedId = reservationId;
    const [created, ...later] = events;
    await publishEvent(created!);
    await expect
      .poll(
        async () =>
          (await api('user-1').reservations[':reservationId'].$get({ param: { reservationId } })).status,
        poll,
      )
      .toBe(200);

    // Live status: the current state first, then every change until CONFIRMED.
    const abort = new AbortController();
    const stream = await fetch(url(`/v1/reservations/${reservationId}/events`), {
      headers: as('user-1'),
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const statuses: string[] = [];
    const reading = (async () => {
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (const match of buffer.matchAll(/^data: (.*)$/gm))
          statuses.push((JSON.parse(match[1]!) as Details).status!);
        buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
        if (statuses.includes('CONFIRMED')) break;
      }
      abort.abort();
    })().catch(() => undefined);

    for (const event of later) {
      await publishEvent(event);
      await publishEvent(event); // delivered twice
    }
    await publishEvent(later[1]!, randomUUID()); // and republished under another id
    await reading;
    expect(statuses[0]).toBe('PENDING');
    expect(statuses.at(-1)).toBe('CONFIRMED');

    const confirmed = await vi.waitFor(async () => {
      const body = await details(reservationId);
      expect(body.timeline).toHaveLength(5);
      return body;
    }, poll);
    expect(confirmed).toMatchObject({ status: 'CONFIRMED', payment: { status: 'CAPTURED' } });
    expect(confirmed.timeline).toHaveLength(5);
    expect(confirmed.traceId).toMatch(/^[\da-f]{32}$/);

    const someoneElse = await api('user-2').reservations[':reservationId'].$get({ param: { reservationId } });
    expect(someoneElse.status).toBe(404);
    expect(someoneElse.headers.get('content-type')).toContain('application/problem+json');
    expect(
      (await api('user-2').reservations[':reservationId'].events.$get({ param: { reservationId } })).status,
    ).toBe(404);

    const mine = (await (await api('user-1').reservations.$get({ query: { limit: '1' } })).json()) as {
      items: { reservationId: string; timeline?: unknown }[];
    };
    expect(mine.items).toHaveLength(1);
    expect(mine.items[0]).not.toHaveProperty('timeline');
  });

  it('pages through my reservations without repeating one', async () => {
    const userId = `pager-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [created] = sagaEvents('confirmed');
      const event = { ...created!, data: { ...created!.data, userId } } as RecordedEvent;
      ids.push(event.data.reservationId);
      await publishEvent(event);
    }
    const seen: string[] = [];
    await vi.waitFor(async () => {
      seen.length = 0;
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const query = cursor ? { limit: '2', cursor } : { limit: '2' };
        const body = (await (await api(userId).reservations.$get({ query })).json()) as {
          items: { reservationId: string }[];
          nextCursor: string | null;
        };
        seen.push(...body.items.map((item) => item.reservationId));
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      expect(seen).toHaveLength(5);
    }, poll);
    expect([...seen].sort()).toEqual([...ids].sort());
    const mine = api(userId).reservations;
    expect((await mine.$get({ query: { cursor: 'nonsense' } })).status).toBe(400);
    expect((await mine.$get({ query: { limit: '0' } })).status).toBe(422);
    expect((await api().reservations.$get({ query: {} })).status).toBe(401);
  });

  it('collects dead letters, lists them for admins, and asks the owner to replay a valid one', async () => {
    // A poison event: it breaks the stock.failed contract, so the subscriber dead-letters it.
    const poisonId = randomUUID();
    const poisonReservation = randomUUID();
    await publish(
      'stock.failed',
      { schemaVersion: 1, reservationId: poisonReservation, reason: 'NOPE' },
      {
        id: poisonId,
        type: 'stock.failed', // as the outbox relay publishes: CloudEvent type = topic
        partitionKey: poisonReservation,
      },
    );
    // An event some consumer gave up on after its retries (as Dapr forwards it to the dead-letter topic).
    const [created] = sagaEvents('sold-out');
    const givenUpId = randomUUID();
    await publish(DEAD_LETTER_TOPIC, created!.data, {
      id: givenUpId,
      type: 'reservation.created',
      partitionKey: created!.data.reservationId,
    });

    type Letter = { id: string; cloudEventId: string; originalTopic: string | null; reason: string | null };
    const list = async () =>
      (
        (await (
          await api('ops', 'USER,ADMIN').admin['dead-letters'].$get({ query: { limit: '100' } })
        ).json()) as {
          items: Letter[];
        }
      ).items;
    const letters = await vi.waitFor(async () => {
      const items = await list();
      expect(items.map((letter) => letter.cloudEventId)).toEqual(
        expect.arrayContaining([poisonId, givenUpId]),
      );
      return items;
    }, poll);
    const poison = letters.find((letter) => letter.cloudEventId === poisonId)!;
    const givenUp = letters.find((letter) => letter.cloudEventId === givenUpId)!;
    expect(poison.originalTopic).toBe('stock.failed');
    // Why: recorded by query when it refused the event (the sidecar dead-letters without a reason).
    expect(poison.reason).toMatch(/^does not match its contract \(.*reason/);
    expect(givenUp.originalTopic).toBe('reservation.created');
    expect(givenUp.reason).toBeNull();

    expect((await api('u1').admin['dead-letters'].$get({ query: {} })).status).toBe(403);
    const replay = (id: string) =>
      api('ops', 'ADMIN').admin['dead-letters'][':id'].replay.$post({ param: { id } });
    const refused = await replay(poison.id);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ type: expect.stringContaining('not-replayable') });
    expect((await replay(randomUUID())).status).toBe(404);

    // Valid, so its owner is asked; this one never published it (a probe stands in), so it is refused.
    const unknownToOwner = await replay(givenUp.id);
    expect(unknownToOwner.status).toBe(409);
    expect(await unknownToOwner.json()).toMatchObject({
      detail: expect.stringContaining(`reservation holds no event ${givenUpId}`),
    });
  });

  it('rebuilds the read model from scratch by replaying Kafka with a fresh consumer group', async () => {
    expect(confirmedId).toBeDefined();
    const before = await details(confirmedId!);
    expect(before.status).toBe('CONFIRMED');
    // The quiet period must outlast the slowest topic's first delivery after the group joins: with a
    // shared Kafka full of other suites' events, 5 s ended the replay before reservation.confirmed.
    const result = await rebuildReadModel({
      infra,
      database: 'query_int_dapr',
      idleMs: 15_000,
      maxMs: 120_000,
    });
    expect(result.consumerGroup).toMatch(/^query-rebuild-/);
    // As a Kubernetes Job must: it noticed the replay was over and stopped itself and its sidecar.
    expect(result.finishedByItself).toBe(true);
    expect(result.events).toBeGreaterThanOrEqual(5);
    const after = await details(confirmedId!);
    expect(after).toEqual(before);
  });
});

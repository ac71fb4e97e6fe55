// The Dapr delivery contract as the sidecar sees it: which status each handler outcome produces.
// (That Dapr then retries and dead-letters accordingly is proven on the real stack, in
// tests/e2e/platform.)
import { generateKeyPairSync } from 'node:crypto';
import {
  DEAD_LETTER_TOPIC,
  publicKeyOf,
  SIGNATURE_ATTRIBUTE,
  signEvent,
  signingKeyFrom,
  trustedKeysFrom,
} from '@reservex/contracts';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import {
  type BatchEntry,
  type CloudEvent,
  createSubscriber,
  type DeadLetter,
  PermanentError,
  parseCloudEvent,
  type Refusal,
  skipping,
} from './index.ts';

const voided = {
  schemaVersion: 1,
  reservationId: '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11',
  occurredAt: '2026-11-21T10:00:00.000Z',
  ticketIds: ['5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a'],
};

function deliver(app: Hono, topic: string, event: Partial<CloudEvent> | string) {
  return app.request(`/dapr/events/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: typeof event === 'string' ? event : JSON.stringify({ id: 'evt-1', type: topic, ...event }),
  });
}

async function statusOf(response: Response) {
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: string }).status;
}

describe('createSubscriber', () => {
  it('serves the programmatic subscriptions with the dead-letter topic', async () => {
    const app = new Hono();
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'inventory' })
      .on('reservation.created', () => {})
      .on('reservation.cancelled', () => {});
    const response = await app.request('/dapr/subscribe');
    expect(await response.json()).toEqual([
      {
        pubsubname: 'pubsub',
        topic: 'reservation.created',
        route: '/dapr/events/reservation.created',
        deadLetterTopic: DEAD_LETTER_TOPIC,
      },
      {
        pubsubname: 'pubsub',
        topic: 'reservation.cancelled',
        route: '/dapr/events/reservation.cancelled',
        deadLetterTopic: DEAD_LETTER_TOPIC,
      },
    ]);
  });

  it('hands a valid event and its delivery context to the handler and answers SUCCESS', async () => {
    const app = new Hono();
    const seen: unknown[] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', (event, ctx) => {
      seen.push({ event, id: ctx.id, topic: ctx.topic, source: ctx.source, consumer: ctx.consumer });
    });
    const status = await statusOf(await deliver(app, 'ticket.voided', { source: 'ticket', data: voided }));
    expect(status).toBe('SUCCESS');
    expect(seen).toEqual([
      { event: voided, id: 'evt-1', topic: 'ticket.voided', source: 'ticket', consumer: 'query' },
    ]);
  });

  it('answers RETRY when the handler throws, never SUCCESS', async () => {
    const app = new Hono();
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', async () => {
      throw new Error('database unreachable');
    });
    expect(await statusOf(await deliver(app, 'ticket.voided', { data: voided }))).toBe('RETRY');
  });

  it('answers DROP (dead letter) for a PermanentError', async () => {
    const app = new Hono();
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', () => {
      throw new PermanentError('refers to a show that never existed');
    });
    expect(await statusOf(await deliver(app, 'ticket.voided', { data: voided }))).toBe('DROP');
  });

  it('answers DROP without calling the handler for a payload violating the contract', async () => {
    const app = new Hono();
    let called = false;
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', () => {
      called = true;
    });
    for (const data of [
      { ...voided, ticketIds: ['x'] },
      { ...voided, schemaVersion: 2 },
      undefined,
      'text',
    ]) {
      expect(await statusOf(await deliver(app, 'ticket.voided', { data }))).toBe('DROP');
    }
    expect(called).toBe(false);
  });

  it('answers DROP for a body that is not a CloudEvent', async () => {
    const app = new Hono();
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', () => {});
    expect(await statusOf(await deliver(app, 'ticket.voided', '{not json'))).toBe('DROP');
    expect(await statusOf(await deliver(app, 'ticket.voided', '{"data":{}}'))).toBe('DROP');
  });

  it('reads base64 and double-encoded JSON data', async () => {
    const app = new Hono();
    let count = 0;
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on('ticket.voided', () => {
      count++;
    });
    const base64 = Buffer.from(JSON.stringify(voided)).toString('base64');
    expect(await statusOf(await deliver(app, 'ticket.voided', { data_base64: base64 }))).toBe('SUCCESS');
    expect(
      await statusOf(
        await deliver(app, 'ticket.voided', {
          datacontenttype: 'application/json',
          data: JSON.stringify(voided),
        }),
      ),
    ).toBe('SUCCESS');
    expect(count).toBe(2);
  });

  it('consumes the dead-letter topic with the original topic and payload, without a dead letter of its own', async () => {
    const app = new Hono();
    const letters: DeadLetter[] = [];
    const subscriber = createSubscriber(app, { pubsubName: 'pubsub', consumer: 'ops' }).onDeadLetter(
      (letter) => {
        letters.push(letter);
      },
    );
    expect(subscriber.subscriptions()).toEqual([
      { pubsubname: 'pubsub', topic: DEAD_LETTER_TOPIC, route: `/dapr/events/${DEAD_LETTER_TOPIC}` },
    ]);
    const status = await statusOf(
      await deliver(app, DEAD_LETTER_TOPIC, {
        id: 'evt-9',
        type: 'stock.reserved',
        source: 'inventory',
        data: { a: 1 },
      }),
    );
    expect(status).toBe('SUCCESS');
    expect(
      letters.map(({ id, originalTopic, source, data }) => ({ id, originalTopic, source, data })),
    ).toEqual([{ id: 'evt-9', originalTopic: 'stock.reserved', source: 'inventory', data: { a: 1 } }]);
  });

  it('while draining answers RETRY to new deliveries and waits for the ones in progress', async () => {
    const app = new Hono();
    let finish: (() => void) | undefined;
    const handled: string[] = [];
    const subscriber = createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).on(
      'ticket.voided',
      async (_event, ctx) => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        handled.push(ctx.id);
      },
    );
    const inProgress = deliver(app, 'ticket.voided', { id: 'evt-a', data: voided });
    await vi.waitFor(() => expect(finish).toBeDefined());
    const drained = subscriber.drain(5000);
    expect(await statusOf(await deliver(app, 'ticket.voided', { id: 'evt-b', data: voided }))).toBe('RETRY');
    finish?.();
    await drained;
    expect(await statusOf(await inProgress)).toBe('SUCCESS');
    expect(handled).toEqual(['evt-a']);
  });

  it('refuses unknown topics and double registration at construction', () => {
    const subscriber = createSubscriber(new Hono(), { pubsubName: 'pubsub', consumer: 'query' });
    expect(() => subscriber.on('no.such.topic' as 'ticket.voided', () => {})).toThrow(/unknown topic/);
    subscriber.on('ticket.voided', () => {});
    expect(() => subscriber.on('ticket.voided', () => {})).toThrow(/already registered/);
  });
});

describe('createSubscriber().onBatch', () => {
  const entry = (entryId: string, event: Partial<CloudEvent> | string) => ({
    entryId,
    contentType: 'application/cloudevents+json',
    metadata: {},
    event: typeof event === 'string' ? event : { type: 'ticket.voided', data: voided, ...event },
  });
  function deliverBatch(app: Hono, entries: unknown[] | string) {
    return app.request('/dapr/events/ticket.voided', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body:
        typeof entries === 'string'
          ? entries
          : JSON.stringify({ id: 'bulk-1', topic: 'ticket.voided', pubsubname: 'pubsub', entries }),
    });
  }
  async function statusesOf(response: Response) {
    expect(response.status).toBe(200);
    const body = (await response.json()) as { statuses: { entryId: string; status: string }[] };
    return Object.fromEntries(body.statuses.map((s) => [s.entryId, s.status]));
  }

  it('asks the sidecar for a bulk subscription, with defaults or the given sizes', async () => {
    const app = new Hono();
    const subscriber = createSubscriber(app, { pubsubName: 'pubsub', consumer: 'inventory' })
      .onBatch('reservation.created', async () => {})
      .onBatch('reservation.cancelled', async () => {}, { maxMessages: 10, maxAwaitMs: 5 });
    expect(subscriber.subscriptions().map((s) => s.bulkSubscribe)).toEqual([
      { enabled: true, maxMessagesCount: 100, maxAwaitDurationMs: 20 },
      { enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 5 },
    ]);
    expect(() =>
      createSubscriber(new Hono(), { pubsubName: 'pubsub', consumer: 'x' }).onBatch(
        'ticket.voided',
        async () => {},
        { maxMessages: 0 },
      ),
    ).toThrow(/maxMessages/);
  });

  it('hands every valid event to one call, in delivery order, and answers SUCCESS per entry', async () => {
    const app = new Hono();
    const calls: string[][] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).onBatch(
      'ticket.voided',
      async (entries) => {
        calls.push(entries.map((e) => `${e.ctx.id}:${e.event.reservationId === voided.reservationId}`));
      },
    );
    const statuses = await statusesOf(
      await deliverBatch(app, [
        entry('0', { id: 'evt-a' }),
        entry('1', { id: 'evt-b' }),
        entry('2', { id: 'evt-c' }),
      ]),
    );
    expect(statuses).toEqual({ '0': 'SUCCESS', '1': 'SUCCESS', '2': 'SUCCESS' });
    expect(calls).toEqual([['evt-a:true', 'evt-b:true', 'evt-c:true']]);
  });

  it('dead-letters an undecodable or contract-violating entry alone and handles the rest', async () => {
    const app = new Hono();
    const handled: string[] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).onBatch(
      'ticket.voided',
      async (entries) => {
        handled.push(...entries.map((e) => e.ctx.id));
      },
    );
    const statuses = await statusesOf(
      await deliverBatch(app, [
        entry('0', { id: 'evt-a' }),
        entry('1', { id: 'evt-b', data: { ...voided, ticketIds: ['not-a-uuid'] } }),
        entry('2', '{not json'),
        entry('3', { id: '' }),
        entry('4', JSON.stringify({ id: 'evt-e', data: voided })),
      ]),
    );
    expect(statuses).toEqual({ '0': 'SUCCESS', '1': 'DROP', '2': 'DROP', '3': 'DROP', '4': 'SUCCESS' });
    expect(handled).toEqual(['evt-a', 'evt-e']);
  });

  it('when the batch fails, hands each event over alone: only the failing ones are retried or dead-lettered', async () => {
    const app = new Hono();
    const calls: string[][] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).onBatch(
      'ticket.voided',
      async (entries) => {
        calls.push(entries.map((e) => e.ctx.id));
        for (const e of entries) {
          if (e.ctx.id === 'evt-transient') throw new Error('deadlock detected');
          if (e.ctx.id === 'evt-poison') throw new PermanentError('can never be handled');
        }
      },
    );
    // Each of another reservation: none holds back another.
    const of = (n: number) => ({ ...voided, reservationId: `7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a1${n}` });
    const statuses = await statusesOf(
      await deliverBatch(app, [
        entry('0', { id: 'evt-a', data: of(0) }),
        entry('1', { id: 'evt-transient', data: of(1) }),
        entry('2', { id: 'evt-poison', data: of(2) }),
        entry('3', { id: 'evt-d', data: of(3) }),
      ]),
    );
    expect(statuses).toEqual({ '0': 'SUCCESS', '1': 'RETRY', '2': 'DROP', '3': 'SUCCESS' });
    expect(calls).toEqual([
      ['evt-a', 'evt-transient', 'evt-poison', 'evt-d'],
      ['evt-a'],
      ['evt-transient'],
      ['evt-poison'],
      ['evt-d'],
    ]);
  });

  it('after a failed batch, an event that fails again holds back the later events of its reservation', async () => {
    const app = new Hono();
    const calls: string[][] = [];
    const other = { ...voided, reservationId: '2b1c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b' };
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).onBatch(
      'ticket.voided',
      async (entries) => {
        calls.push(entries.map((e) => e.ctx.id));
        if (entries.some((e) => e.ctx.id === 'evt-transient')) throw new Error('deadlock detected');
      },
    );
    const statuses = await statusesOf(
      await deliverBatch(app, [
        entry('0', { id: 'evt-transient' }),
        entry('1', { id: 'evt-other', data: other }),
        entry('2', { id: 'evt-later' }),
      ]),
    );
    // The later event of the same reservation is retried with the one before it, never applied first.
    expect(statuses).toEqual({ '0': 'RETRY', '1': 'SUCCESS', '2': 'RETRY' });
    expect(calls).toEqual([['evt-transient', 'evt-other', 'evt-later'], ['evt-transient'], ['evt-other']]);
  });

  it('answers RETRY for every entry while draining, and an error status to an envelope without entries', async () => {
    const app = new Hono();
    let called = false;
    const subscriber = createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query' }).onBatch(
      'ticket.voided',
      async () => {
        called = true;
      },
    );
    expect((await deliverBatch(app, '{"entries":"none"}')).status).toBe(400);
    expect((await deliverBatch(app, '{"entries":[{"event":{}}]}')).status).toBe(400);
    await subscriber.drain(100);
    expect(
      await statusesOf(await deliverBatch(app, [entry('0', { id: 'evt-a' }), entry('1', { id: 'evt-b' })])),
    ).toEqual({
      '0': 'RETRY',
      '1': 'RETRY',
    });
    expect(called).toBe(false);
  });
});

describe('parseCloudEvent', () => {
  it('requires an object with an id', () => {
    expect(() => parseCloudEvent('[]')).toThrow();
    expect(() => parseCloudEvent('{"id":""}')).toThrow();
    expect(parseCloudEvent('{"id":"a","data":{"x":1}}').data).toEqual({ x: 1 });
  });
});

describe('createSubscriber with the publishers’ keys', () => {
  const ticketKey = signingKeyFrom(
    generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  );
  const trustedKeys = trustedKeysFrom(`ticket=${publicKeyOf(ticketKey)}`);
  const signature = (id: string, data: unknown) =>
    signEvent(ticketKey, { topic: 'ticket.voided', id, type: 'ticket.voided', data });

  function subscriber(recordRefusal: (refusal: Refusal) => Promise<void>) {
    const app = new Hono();
    const handled: unknown[] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'query', trustedKeys, recordRefusal }).on(
      'ticket.voided',
      (event) => {
        handled.push(event);
        if (event.ticketIds.length === 0) throw new PermanentError('no tickets to void');
      },
    );
    return { app, handled };
  }

  it('hands over only events signed by the topic’s owner', async () => {
    const refusals: Refusal[] = [];
    const { app, handled } = subscriber(async (refusal) => {
      refusals.push(refusal);
    });
    const good = { data: voided, [SIGNATURE_ATTRIBUTE]: signature('evt-1', voided) };
    expect(await statusOf(await deliver(app, 'ticket.voided', good))).toBe('SUCCESS');
    expect(await statusOf(await deliver(app, 'ticket.voided', { id: 'evt-2', data: voided }))).toBe('DROP');
    // Another id, the same signature: a replay, refused before the handler sees it.
    expect(await statusOf(await deliver(app, 'ticket.voided', { ...good, id: 'evt-3' }))).toBe('DROP');
    expect(handled).toEqual([voided]);
    expect(refusals).toEqual([
      {
        consumer: 'query',
        eventId: 'evt-2',
        topic: 'ticket.voided',
        reason: 'unsigned: ticket.voided must carry the signature of ticket',
      },
      {
        consumer: 'query',
        eventId: 'evt-3',
        topic: 'ticket.voided',
        reason: expect.stringContaining('bad signature'),
      },
    ]);
  });

  it('records the reason of a PermanentError too, and retries while it cannot record one', async () => {
    const empty = { ...voided, ticketIds: [] };
    const signedEmpty = { data: empty, [SIGNATURE_ATTRIBUTE]: signature('evt-1', empty) };
    const refusals: Refusal[] = [];
    const recording = subscriber(async (refusal) => {
      refusals.push(refusal);
    });
    expect(await statusOf(await deliver(recording.app, 'ticket.voided', signedEmpty))).toBe('DROP');
    expect(refusals).toMatchObject([{ eventId: 'evt-1', reason: 'no tickets to void' }]);

    const failing = subscriber(() => Promise.reject(new Error('database down')));
    expect(await statusOf(await deliver(failing.app, 'ticket.voided', { id: 'evt-9', data: voided }))).toBe(
      'RETRY',
    );
  });

  it('tells a dead-letter handler whether the letter carries its topic owner’s signature', async () => {
    const app = new Hono();
    const verdicts: unknown[] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'reservation', trustedKeys }).onDeadLetter(
      (letter) => {
        verdicts.push(letter.verdict.authentic);
      },
    );
    const signedLetter = {
      type: 'ticket.voided',
      data: voided,
      [SIGNATURE_ATTRIBUTE]: signature('evt-1', voided),
    };
    await deliver(app, DEAD_LETTER_TOPIC, signedLetter);
    await deliver(app, DEAD_LETTER_TOPIC, { type: 'ticket.voided', data: voided });
    expect(verdicts).toEqual([true, false]);
  });
});

describe('skipping', () => {
  const entryOf = (ticketIds: string[]) => {
    const attributes: Record<string, unknown> = {};
    const entry: BatchEntry<'ticket.voided'> = {
      event: { ...voided, schemaVersion: 1 as const, ticketIds },
      ctx: {} as BatchEntry<'ticket.voided'>['ctx'],
      within: (fn) => fn({ setAttributes: (values: object) => Object.assign(attributes, values) } as never),
    };
    return { entry, attributes };
  };
  const empty = (event: { ticketIds: string[] }) =>
    event.ticketIds.length === 0 ? { 'test.why': 'nothing voided' } : undefined;

  it('hands over only the events left to handle, and marks the others with why', async () => {
    const handled: BatchEntry<'ticket.voided'>[][] = [];
    const handle = skipping<'ticket.voided'>(empty, async (entries) => {
      handled.push(entries);
    });
    const [first, second, third] = [entryOf([]), entryOf(voided.ticketIds), entryOf([])];
    await handle([first.entry, second.entry, third.entry]);
    expect(handled).toEqual([[second.entry]]);
    expect([first.attributes, second.attributes, third.attributes]).toEqual([
      { 'test.why': 'nothing voided' },
      {},
      { 'test.why': 'nothing voided' },
    ]);
  });

  it('never calls the handler for a delivery with nothing left to handle', async () => {
    const handler = vi.fn(async () => {});
    await skipping<'ticket.voided'>(empty, handler)([entryOf([]).entry]);
    expect(handler).not.toHaveBeenCalled();
  });
});

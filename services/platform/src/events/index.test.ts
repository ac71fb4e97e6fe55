// The Dapr delivery contract as the sidecar sees it: which status each handler outcome produces.
// (That Dapr then retries and dead-letters accordingly is proven on the real stack, in
// tests/e2e/platform.)
import { DEAD_LETTER_TOPIC } from '@reservex/contracts';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  type CloudEvent,
  createSubscriber,
  type DeadLetter,
  PermanentError,
  parseCloudEvent,
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
    let finish: () => void = () => {};
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
    await new Promise((r) => setTimeout(r, 10));
    const drained = subscriber.drain(5000);
    expect(await statusOf(await deliver(app, 'ticket.voided', { id: 'evt-b', data: voided }))).toBe('RETRY');
    finish();
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

describe('parseCloudEvent', () => {
  it('requires an object with an id', () => {
    expect(() => parseCloudEvent('[]')).toThrow();
    expect(() => parseCloudEvent('{"id":""}')).toThrow();
    expect(parseCloudEvent('{"id":"a","data":{"x":1}}').data).toEqual({ x: 1 });
  });
});

// Telemetry is tested by the traces it produces: spans exported to memory, checked for the
// parent/child links and trace continuation a reader in Jaeger relies on.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSubscriber } from '../events/index.ts';
import { createApp } from '../http/index.ts';
import {
  activeTraceId,
  contextFromTraceparent,
  createLogger,
  currentTraceContext,
  SpanAttribute,
  SpanKind,
  sagaAttributes,
  startTelemetry,
  type Telemetry,
  traceIdOf,
  withSpan,
} from './index.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(() => {
  telemetry = startTelemetry({
    serviceName: 'telemetry-test',
    logLevel: 'silent',
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
});
afterAll(() => telemetry.shutdown());
beforeEach(() => exporter.reset());

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpanId = '00f067aa0ba902b7';
const traceparent = `00-${traceId}-${callerSpanId}-01`;

// Span processors export once the resource's async attributes are in: flush before reading.
async function spans(): Promise<ReadableSpan[]> {
  await telemetry.flush();
  return exporter.getFinishedSpans();
}
async function named(name: string): Promise<ReadableSpan> {
  const all = await spans();
  const span = all.find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name}; have ${all.map((s) => s.name).join(', ')}`);
  return span;
}

describe('server spans', () => {
  const app = createApp({ serviceName: 'telemetry-test' });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/reservations/{id}/cancel',
      request: { params: z.object({ id: z.string() }) },
      responses: { 202: { description: 'Accepted' } },
    }),
    async (c) => {
      await withSpan(
        'cancel reservation',
        sagaAttributes({ step: 'user', reservationId: c.req.param('id') }),
        async () => {
          c.get('log').info('cancelling');
        },
      );
      return c.body(null, 202);
    },
  );
  app.get('/boom', () => {
    throw new Error('boom');
  });

  it('continue the caller’s traceparent, are named by route, and parent the handler’s spans', async () => {
    const response = await app.request('/reservations/r-1/cancel', {
      method: 'POST',
      headers: { traceparent },
    });
    expect(response.status).toBe(202);

    const server = await named('POST /reservations/:id/cancel');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(server.attributes).toMatchObject({
      'http.route': '/reservations/:id/cancel',
      'http.request.method': 'POST',
      'http.response.status_code': 202,
    });

    const inner = await named('cancel reservation');
    expect(inner.spanContext().traceId).toBe(traceId);
    expect(inner.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(inner.attributes).toEqual({
      [SpanAttribute.sagaStep]: 'user',
      [SpanAttribute.reservationId]: 'r-1',
    });
  });

  it('start a new trace when the caller sends none, and mark 5xx as errors', async () => {
    expect((await app.request('/boom')).status).toBe(500);
    const server = await named('GET /boom');
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.spanContext().traceId).not.toBe(traceId);
    expect(server.status.code).toBe(2);
    expect(server.events.some((e) => e.name === 'exception')).toBe(true);
  });
});

describe('server spans at the public edge', () => {
  const app = createApp({ serviceName: 'telemetry-edge-test', publicEdge: true });
  app.get('/api/v1/things', async (c) => {
    await withSpan('work', {}, () => undefined);
    return c.json({ ok: true });
  });

  it('start a new sampled trace whatever the client sends, and link the client’s context', async () => {
    const unsampled = `00-${traceId}-${callerSpanId}-00`;
    const response = await app.request('/api/v1/things', {
      headers: { traceparent: unsampled, baggage: 'user=someone-else' },
    });
    expect(response.status).toBe(200);

    const server = await named('GET /api/v1/things');
    expect(server.spanContext().traceId).not.toBe(traceId);
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.spanContext().traceFlags & 1).toBe(1);
    expect(server.links.map((link) => link.context.traceId)).toEqual([traceId]);
    expect(server.links[0]!.context.spanId).toBe(callerSpanId);
    const inner = await named('work');
    expect(inner.spanContext().traceId).toBe(server.spanContext().traceId);
    expect(inner.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
  });

  it('have no link when the client sends no context, or a malformed one', async () => {
    await app.request('/api/v1/things', { headers: { traceparent: '00-zz-yy-01' } });
    const server = await named('GET /api/v1/things');
    expect(server.links).toEqual([]);
    expect(server.spanContext().traceFlags & 1).toBe(1);
  });
});

describe('a share of the traces at the public edge', () => {
  const app = createApp({
    serviceName: 'telemetry-share-test',
    publicEdge: true,
    traceShare: (method, path) => (method === 'GET' && path.startsWith('/polls/') ? 0.1 : 1),
  });
  app.get('/polls/:id', async (c) => {
    await withSpan('poll work', {}, () => undefined);
    return c.json({ context: currentTraceContext() ?? null });
  });
  app.get('/bookings', (c) => c.json({ ok: true }));

  it('records about that share of the requests it names, and every other request', async () => {
    const carried: string[] = [];
    for (let i = 0; i < 400; i++) {
      const response = await app.request(`/polls/${i}`);
      const body = (await response.json()) as { context: { traceparent: string } | null };
      carried.push(body.context?.traceparent ?? '');
    }
    for (let i = 0; i < 20; i++) await app.request('/bookings');
    const all = await spans();
    const polls = all.filter((s) => s.name === 'GET /polls/:id');
    // 40 expected; the bounds are 6 standard deviations apart, so this fails by chance once in ~10^8.
    expect(polls.length).toBeGreaterThan(4);
    expect(polls.length).toBeLessThan(76);
    expect(all.filter((s) => s.name === 'poll work')).toHaveLength(polls.length);
    expect(all.filter((s) => s.name === 'GET /bookings')).toHaveLength(20);
    // What an unrecorded poll calls carries its context as not sampled, so nothing downstream records it.
    const flags = carried.map((traceparent) => traceparent.slice(-2));
    expect(flags.filter((f) => f === '01')).toHaveLength(polls.length);
    expect(flags.filter((f) => f === '00')).toHaveLength(400 - polls.length);
  });
});

describe('consumer spans', () => {
  it('continue the trace of the CloudEvent’s traceparent', async () => {
    const app = createApp({ serviceName: 'telemetry-test' });
    let seenTraceId: string | undefined;
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'telemetry-test' }).on('ticket.voided', () => {
      seenTraceId = activeTraceId();
    });
    const response = await app.request('/dapr/events/ticket.voided', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        id: 'evt-1',
        type: 'ticket.voided',
        traceparent,
        data: {
          schemaVersion: 1,
          reservationId: '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11',
          occurredAt: '2026-11-21T10:00:00.000Z',
          ticketIds: [],
        },
      }),
    });
    expect(await response.json()).toEqual({ status: 'SUCCESS' });
    expect(seenTraceId).toBe(traceId);
    const consumer = await named('ticket.voided process');
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(consumer.attributes).toMatchObject({
      'messaging.message.id': 'evt-1',
      'messaging.destination.name': 'ticket.voided',
      [SpanAttribute.reservationId]: '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11',
    });
  });

  it('give each event of a bulk delivery its own span in its own trace, active `within` that entry', async () => {
    const app = createApp({ serviceName: 'telemetry-test' });
    const otherTrace = '1'.repeat(32);
    const seen: (string | undefined)[] = [];
    createSubscriber(app, { pubsubName: 'pubsub', consumer: 'telemetry-test' }).onBatch(
      'ticket.voided',
      async (entries) => {
        for (const entry of entries) seen.push(entry.within(() => activeTraceId()));
      },
    );
    const data = {
      schemaVersion: 1,
      reservationId: '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11',
      occurredAt: '2026-11-21T10:00:00.000Z',
      ticketIds: [],
    };
    const response = await app.request('/dapr/events/ticket.voided', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        entries: [
          { entryId: '0', event: { id: 'evt-a', type: 'ticket.voided', traceparent, data } },
          {
            entryId: '1',
            event: {
              id: 'evt-b',
              type: 'ticket.voided',
              traceparent: `00-${otherTrace}-${callerSpanId}-01`,
              data,
            },
          },
        ],
      }),
    });
    expect(await response.json()).toEqual({
      statuses: [
        { entryId: '0', status: 'SUCCESS' },
        { entryId: '1', status: 'SUCCESS' },
      ],
    });
    expect(seen).toEqual([traceId, otherTrace]);
    const consumers = (await spans()).filter((s) => s.name === 'ticket.voided process');
    expect(consumers.map((s) => [s.spanContext().traceId, s.attributes['messaging.message.id']])).toEqual([
      [traceId, 'evt-a'],
      [otherTrace, 'evt-b'],
    ]);
    expect(
      consumers.every((s) => s.kind === SpanKind.CONSUMER && s.parentSpanContext?.spanId === callerSpanId),
    ).toBe(true);
  });
});

describe('trace context helpers', () => {
  it('currentTraceContext gives the active span as a traceparent, which contextFromTraceparent restores', async () => {
    let carried: string | undefined;
    await withSpan(
      'write outbox row',
      {},
      () => {
        carried = currentTraceContext()?.traceparent;
      },
      { parent: contextFromTraceparent(traceparent) },
    );
    const writer = await named('write outbox row');
    expect(carried).toBe(`00-${traceId}-${writer.spanContext().spanId}-01`);
    expect(traceIdOf(carried)).toBe(traceId);

    await withSpan('publish', {}, () => undefined, {
      parent: contextFromTraceparent(carried),
      kind: SpanKind.PRODUCER,
    });
    expect((await named('publish')).parentSpanContext?.spanId).toBe(writer.spanContext().spanId);
  });

  it('withSpan records a failure on the span and rethrows it', async () => {
    await expect(
      withSpan('charge card', {}, () => {
        throw new Error('declined');
      }),
    ).rejects.toThrow('declined');
    const span = await named('charge card');
    expect(span.status).toMatchObject({ code: 2, message: 'declined' });
  });

  it('without an active span there is no trace context to carry', () => {
    expect(currentTraceContext()).toBeUndefined();
    expect(traceIdOf('garbage')).toBeUndefined();
  });
});

describe('client spans', () => {
  it('outgoing fetch gets a client span, and the callee receives its traceparent', async () => {
    const received: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      received.push(request.headers.traceparent as string | undefined);
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await withSpan(
        'invoke inventory',
        {},
        async () => {
          await (await fetch(`http://127.0.0.1:${port}/holds`)).text();
        },
        { parent: contextFromTraceparent(traceparent) },
      );
    } finally {
      server.close();
    }
    const caller = await named('invoke inventory');
    const client = (await spans()).find((s) => s.kind === SpanKind.CLIENT);
    expect(client?.spanContext().traceId).toBe(traceId);
    expect(client?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(received).toEqual([`00-${traceId}-${client?.spanContext().spanId}-01`]);
  });
});

/** A logger whose lines are kept in `lines`. */
function capturedLog() {
  const lines: string[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  return { log, lines };
}

describe('logs', () => {
  it('carry trace_id and span_id of the active span', async () => {
    const { log, lines } = capturedLog();
    log.info('outside');
    await withSpan('inside', {}, () => log.info('inside'), { parent: contextFromTraceparent(traceparent) });
    const [outside, inside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(outside?.trace_id).toBeUndefined();
    expect(inside).toMatchObject({ msg: 'inside', level: 'info', trace_id: traceId });
    expect(inside?.span_id).toBe((await named('inside')).spanContext().spanId);
  });

  it('never carry secrets, tokens or card tokens, whether as fields or inside a failed query', async () => {
    const { log, lines } = capturedLog();
    const secrets = [
      'tok_card_4242',
      'hunter2-password',
      'eyJaccess',
      'refresh-abc',
      'eyJpass',
      'Bearer xyz',
    ];
    const failedQuery = new DrizzleQueryError(
      'insert into "reservations" ("payment_token") values ($1)',
      ['tok_card_4242', 3],
      new Error('invalid byte sequence for encoding "UTF8": 0x00'),
    );
    log.error({ err: failedQuery }, 'unhandled error');
    log.child({ request_id: 'r' }).info({
      password: 'hunter2-password',
      body: {
        accessToken: 'eyJaccess',
        refreshToken: 'refresh-abc',
        paymentMethod: { token: 'tok_card_4242' },
      },
      request: { headers: { authorization: 'Bearer xyz', 'x-pass-token': 'eyJpass' } },
    });
    const output = lines.join('');
    for (const secret of secrets) expect(output).not.toContain(secret);
    const [error] = lines.map(
      (line) => JSON.parse(line) as { err: { message: string; stack: string; query: string } },
    );
    // What helps an operator stays: the query, the database's reason, the stack.
    expect(error!.err.query).toMatch(/insert into "reservations"/);
    expect(error!.err.message).toMatch(/params: \[redacted\].*invalid byte sequence/s);
    expect(error!.err.stack).toMatch(/at /);
  });
});

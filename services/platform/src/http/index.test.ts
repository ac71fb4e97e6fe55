import { createRoute, z } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createApp, PROBLEM_CONTENT_TYPE, problem, problemResponses, serve } from './index.ts';

const reservationId = '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11';

function testApp(options: Partial<Parameters<typeof createApp>[0]> = {}) {
  const app = createApp({ serviceName: 'test', bodyLimitBytes: 256, ...options });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/reservations/{id}/seats',
      request: {
        params: z.object({ id: z.uuid() }),
        query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
        body: {
          content: {
            'application/json': {
              schema: z.object({
                quantity: z.number().int().positive(),
                seat: z.object({ row: z.string() }),
              }),
            },
          },
          required: true,
        },
      },
      responses: {
        201: {
          description: 'Held',
          content: { 'application/json': { schema: z.object({ held: z.number() }) } },
        },
        ...problemResponses(404, 409, 422),
      },
    }),
    (c) => {
      const { quantity } = c.req.valid('json');
      if (quantity === 13) problem(409, 'seats-taken', 'someone was quicker', { retryable: false });
      if (quantity === 14) throw new Error('connection string postgres://admin:secret@db leaked?');
      if (quantity === 15) throw new HTTPException(401, { message: 'token expired' });
      if (quantity === 16) {
        // As drizzle reports a statement whose connection was refused (Postgres down or restarting).
        const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
          code: 'ECONNREFUSED',
        });
        throw new Error('Failed query: select "details" from "reservation_details"', { cause: refused });
      }
      if (quantity === 17) throw Object.assign(new Error('duplicate key'), { code: '23505' });
      return c.json({ held: quantity }, 201);
    },
  );
  return app;
}

const post = (
  app: ReturnType<typeof testApp>,
  body: string,
  headers: Record<string, string> = {},
  path = `/reservations/${reservationId}/seats`,
) => app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  return (await response.json()) as Record<string, unknown>;
}

describe('createApp', () => {
  it('serves a valid request and echoes the caller’s request id', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 2, seat: { row: 'A' } }), {
      'x-request-id': 'req-42',
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ held: 2 });
    expect(response.headers.get('x-request-id')).toBe('req-42');
  });

  it('logs a request at info, and the sidecar’s deliveries and probes at debug', async () => {
    const lines: { level: number; path: string; status: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const app = testApp({ logger });
    app.post('/dapr/events/ticket.voided', (c) => c.json({ status: 'SUCCESS' }));
    await app.request(`/reservations/${reservationId}/seats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ quantity: 1, seat: { row: 'A' } }),
    });
    await app.request('/dapr/events/ticket.voided', { method: 'POST', body: '{}' });
    await app.request('/healthz');
    const levels = Object.fromEntries(lines.map((line) => [line.path, pino.levels.labels[line.level]]));
    expect(levels).toEqual({
      [`/reservations/${reservationId}/seats`]: 'info',
      '/dapr/events/ticket.voided': 'debug',
      '/healthz': 'debug',
    });
  });

  it('generates a request id when none (or a hostile one) is sent', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 1, seat: { row: 'A' } }), {
      'x-request-id': 'not <a> valid id; really',
    });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 422 naming every invalid field, with a stable type', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 0, seat: {} }));
    expect(response.status).toBe(422);
    const body = await problemOf(response);
    expect(body).toMatchObject({
      type: 'https://reservex.dev/problems/validation-failed',
      title: 'Request validation failed',
      status: 422,
      in: 'body',
    });
    expect((body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['quantity', 'seat.row']);
  });

  it('answers 422 for invalid path and query parameters too', async () => {
    const badPath = await post(testApp(), '{}', {}, '/reservations/not-a-uuid/seats');
    expect(await problemOf(badPath)).toMatchObject({ status: 422, in: 'path', errors: [{ path: 'id' }] });
    const badQuery = await post(
      testApp(),
      JSON.stringify({ quantity: 1, seat: { row: 'A' } }),
      {},
      `/reservations/${reservationId}/seats?dryRun=maybe`,
    );
    expect(await problemOf(badQuery)).toMatchObject({
      status: 422,
      in: 'query',
      errors: [{ path: 'dryRun' }],
    });
  });

  it('answers 400 malformed-json for a body that is not JSON', async () => {
    const response = await post(testApp(), '{"quantity":');
    expect(response.status).toBe(400);
    expect(await problemOf(response)).toMatchObject({ type: 'https://reservex.dev/problems/malformed-json' });
  });

  it('answers 415 for a body of another media type', async () => {
    const response = await post(testApp(), 'quantity=1', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(await problemOf(response)).toMatchObject({
      type: 'https://reservex.dev/problems/unsupported-media-type',
    });
  });

  it('answers 413 for a body over the limit, whether announced or streamed', async () => {
    const big = JSON.stringify({ quantity: 1, seat: { row: 'x'.repeat(1000) } });
    const announced = await post(testApp(), big);
    expect(announced.status).toBe(413);
    expect(await problemOf(announced)).toMatchObject({
      type: 'https://reservex.dev/problems/payload-too-large',
      limitBytes: 256,
    });
    expect(announced.headers.get('connection')).toBe('close');
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await testApp().request(`/reservations/${reservationId}/seats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('lets the sidecar deliver events (a bulk delivery) past the request limit, up to its own', async () => {
    const app = testApp({ deliveryBodyLimitBytes: 4096 });
    app.post('/dapr/events/stock.reserved', async (c) => c.json({ received: (await c.req.text()).length }));
    const deliver = (size: number) =>
      app.request('/dapr/events/stock.reserved', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entries: 'x'.repeat(size) }),
      });
    const bulk = await deliver(2000);
    expect(bulk.status).toBe(200);
    expect(await bulk.json()).toEqual({ received: 2000 + '{"entries":""}'.length });
    const tooBig = await deliver(5000);
    expect(tooBig.status).toBe(413);
    expect(await problemOf(tooBig)).toMatchObject({ limitBytes: 4096 });
    expect(() => createApp({ serviceName: 'x', deliveryBodyLimitBytes: 0 })).toThrow(
      /deliveryBodyLimitBytes/,
    );
  });

  it('renders problem() with its type, detail and extension members', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 13, seat: { row: 'A' } }));
    expect(response.status).toBe(409);
    expect(await problemOf(response)).toEqual({
      type: 'https://reservex.dev/problems/seats-taken',
      title: 'Seats taken',
      status: 409,
      detail: 'someone was quicker',
      instance: `/reservations/${reservationId}/seats`,
      retryable: false,
    });
  });

  it('never leaks an unexpected error: 500 internal with the request id only', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 14, seat: { row: 'A' } }), {
      'x-request-id': 'req-500',
    });
    expect(response.status).toBe(500);
    const text = await response.clone().text();
    expect(text).not.toContain('secret');
    expect(text).not.toContain('postgres');
    expect(await problemOf(response)).toMatchObject({
      type: 'https://reservex.dev/problems/internal',
      status: 500,
      requestId: 'req-500',
    });
  });

  it('answers 503 with Retry-After when the database cannot be reached, and 500 for other database errors', async () => {
    const down = await post(testApp(), JSON.stringify({ quantity: 16, seat: { row: 'A' } }), {
      'x-request-id': 'req-503',
    });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    const text = await down.clone().text();
    expect(text).not.toContain('5432');
    expect(await problemOf(down)).toMatchObject({
      type: 'https://reservex.dev/problems/service-unavailable',
      status: 503,
      detail: 'the service cannot reach its database right now; try again shortly',
      requestId: 'req-503',
    });
    const broken = await post(testApp(), JSON.stringify({ quantity: 17, seat: { row: 'A' } }));
    expect(broken.status).toBe(500);
  });

  it('maps hono HTTPExceptions (e.g. from auth middleware) to problems', async () => {
    const response = await post(testApp(), JSON.stringify({ quantity: 15, seat: { row: 'A' } }));
    expect(response.status).toBe(401);
    expect(await problemOf(response)).toMatchObject({
      type: 'https://reservex.dev/problems/unauthorized',
      detail: 'token expired',
    });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await testApp().request('/nowhere');
    expect(response.status).toBe(404);
    expect(await problemOf(response)).toMatchObject({ type: 'https://reservex.dev/problems/not-found' });
  });

  it('/healthz is up without running the readiness checks', async () => {
    let ran = false;
    const app = testApp({
      readiness: {
        db: async () => {
          ran = true;
        },
      },
    });
    const response = await app.request('/healthz');
    expect([response.status, await response.json(), ran]).toEqual([200, { status: 'ok' }, false]);
  });

  it('/readyz runs every check, and names the failing and the slow ones', async () => {
    const ready = testApp({ readiness: { db: async () => 1, dapr: async () => 2 } });
    const ok = await ready.request('/readyz');
    expect([ok.status, await ok.json()]).toEqual([
      200,
      { status: 'ready', checks: { db: 'ok', dapr: 'ok' } },
    ]);

    const notReady = testApp({
      readinessTimeoutMs: 50,
      readiness: {
        db: async () => {
          throw new Error('connection refused');
        },
        dapr: () => new Promise(() => {}),
        cache: async () => 'fine',
      },
    });
    const failing = await notReady.request('/readyz');
    expect(failing.status).toBe(503);
    expect(await problemOf(failing)).toMatchObject({
      type: 'https://reservex.dev/problems/not-ready',
      checks: { db: 'connection refused', dapr: 'no answer within 50 ms', cache: 'ok' },
    });
  });

  it('documents every route in an OpenAPI 3.1 document, problems included', async () => {
    const doc = (await (await testApp().request('/openapi.json')).json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('test');
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/readyz', '/reservations/{id}/seats']);
    const responses = doc.paths['/reservations/{id}/seats']?.post?.responses ?? {};
    expect(Object.keys(responses).sort()).toEqual(['201', '404', '409', '422']);
    expect(Object.keys(responses['409']?.content ?? {})).toEqual([PROBLEM_CONTENT_TYPE]);
  });

  it('refuses nonsense options at construction', () => {
    expect(() => createApp({ serviceName: '' })).toThrow(/serviceName/);
    expect(() => createApp({ serviceName: 'x', bodyLimitBytes: -1 })).toThrow(/bodyLimitBytes/);
  });
});

describe('serve', () => {
  it('on shutdown: /readyz turns 503, in-flight requests finish, hooks run in order, the port closes', async () => {
    const app = createApp({ serviceName: 'test' });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = false;
    app.get('/slow', async (c) => {
      arrived = true;
      await gate;
      return c.json({ done: true });
    });
    const order: string[] = [];
    const running = serve(app, {
      port: 0,
      host: '127.0.0.1',
      signals: [],
      shutdownTimeoutMs: 5000,
      onShutdown: [
        async () => {
          // A hook that takes a while: the next one waits for it.
          await new Promise((r) => setTimeout(r, 20));
          order.push('relay stopped');
        },
        () => {
          order.push('database closed');
        },
      ],
    });
    const { port } = await running.listening;
    const base = `http://127.0.0.1:${port}`;
    const inFlight = fetch(`${base}/slow`);
    await vi.waitFor(() => expect(arrived).toBe(true));

    const stopping = running.shutdown('test');
    expect((await app.request('/readyz')).status).toBe(503);
    await expect(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    expect(order).toEqual([]);

    release();
    expect(await (await inFlight).json()).toEqual({ done: true });
    expect(await stopping).toBe(true);
    expect(order).toEqual(['relay stopped', 'database closed']);
    expect(running.server.listening).toBe(false);
  });

  it('gives up on a hung in-flight request at the deadline and reports an unclean stop', async () => {
    const app = createApp({ serviceName: 'test' });
    let arrived = false;
    app.get('/hang', () => {
      arrived = true;
      return new Promise<Response>(() => {});
    });
    const running = serve(app, { port: 0, host: '127.0.0.1', signals: [], shutdownTimeoutMs: 200 });
    const { port } = await running.listening;
    const hung = fetch(`http://127.0.0.1:${port}/hang`).catch((error: unknown) => error);
    await vi.waitFor(() => expect(arrived).toBe(true));
    const started = Date.now();
    expect(await running.shutdown()).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await hung).toBeInstanceOf(Error);
  });
});

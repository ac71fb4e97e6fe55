// The HTTP surface without infrastructure: the OpenAPI document and the refusals that happen before
// any data is read (the database-backed paths are covered by read-model.int.test.ts).
import { testClient } from 'hono/testing';
import { describe, expect, it } from 'vitest';
import { createQueryApp } from './app.ts';

const app = createQueryApp({
  db: undefined as never,
  feed: { watch: () => () => undefined, close: async () => undefined },
  bodyLimitBytes: 1024,
  readiness: {},
  appearWaitMs: 0,
  heartbeatMs: 1000,
  streamMaxMs: 1000,
  askOwner: async () => false,
});
const user = { 'x-user-id': 'u1', 'x-user-roles': 'USER' };

describe('query API', () => {
  it('documents every route in OpenAPI', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/reservations',
        '/v1/reservations/{reservationId}',
        '/v1/reservations/{reservationId}/events',
        '/v1/admin/dead-letters',
        '/v1/admin/dead-letters/{id}/replay',
      ]),
    );
  });

  it('refuses anonymous callers, non-admins and malformed input', async () => {
    const { reservations, admin } = testClient(app).v1;
    expect((await reservations.$get({ query: {} })).status).toBe(401);
    expect((await reservations.$get({ query: { limit: '1000' } }, { headers: user })).status).toBe(422);
    expect((await reservations.$get({ query: { cursor: 'garbage' } }, { headers: user })).status).toBe(400);
    expect(
      (await reservations[':reservationId'].$get({ param: { reservationId: 'nope' } }, { headers: user }))
        .status,
    ).toBe(422);
    expect((await admin['dead-letters'].$get({ query: {} }, { headers: user })).status).toBe(403);
    const replay = await admin['dead-letters'][':id'].replay.$post(
      { param: { id: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b' } },
      { headers: user },
    );
    expect(replay.status).toBe(403);
    expect(replay.headers.get('content-type')).toContain('application/problem+json');
  });
});

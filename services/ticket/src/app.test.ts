// The HTTP surface without infrastructure: the OpenAPI document and the refusals that happen before
// any data is read (the database-backed paths are covered by saga.int.test.ts).
import { testClient } from 'hono/testing';
import { describe, expect, it } from 'vitest';
import { createTicketApp } from './app.ts';

const app = createTicketApp({
  db: undefined as never,
  signQr: async () => 'signed',
  bodyLimitBytes: 1024,
  readiness: {},
});
const tickets = testClient(app).v1.tickets;
/** A raw scan, for bodies a typed client cannot send (malformed, too large, with unknown fields). */
const scan = (body: string, headers: Record<string, string>) =>
  app.request('/v1/tickets/scan', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
const SHOW = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
const staff = { 'x-user-id': 'door-1', 'x-user-roles': `USER,STAFF:${SHOW}` };
const CODE = 'AAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('ticket API', () => {
  it('documents every route in OpenAPI', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/tickets/{ticketId}',
        '/v1/tickets/scan',
        '/v1/admin/issuing-locks/{showId}',
      ]),
    );
  });

  it('lets only door staff of the show scan', async () => {
    const door = (headers: Record<string, string>) =>
      tickets.scan.$post({ json: { code: CODE, showId: SHOW } }, { headers });
    expect((await door({})).status).toBe(401);
    expect((await door({ 'x-user-id': 'u1', 'x-user-roles': 'USER' })).status).toBe(403);
    // Staff of another show, or a bare STAFF without a show, are not staff of this one.
    const otherShow = '1b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
    expect((await door({ 'x-user-id': 'u1', 'x-user-roles': `USER,STAFF:${otherShow}` })).status).toBe(403);
    expect((await door({ 'x-user-id': 'u1', 'x-user-roles': 'USER,STAFF' })).status).toBe(403);
  });

  it('answers bad input with 400, 413 or 422 naming the field', async () => {
    expect((await scan('{"code":', staff)).status).toBe(400);
    expect((await scan(JSON.stringify({ code: 'x'.repeat(2000), showId: SHOW }), staff)).status).toBe(413);
    const invalid = await scan(JSON.stringify({ code: 'not base64url!', showId: SHOW }), staff);
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ path: 'code' })]),
    });
    expect((await scan(JSON.stringify({ code: CODE, showId: SHOW, extra: 1 }), staff)).status).toBe(422);
    // The door must name its show.
    expect((await scan(JSON.stringify({ code: CODE }), staff)).status).toBe(422);
    expect((await scan(JSON.stringify({ code: CODE, showId: SHOW, gate: 'a\u0000b' }), staff)).status).toBe(
      422,
    );
  });
});

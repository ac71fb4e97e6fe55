// The HTTP surface without infrastructure: the OpenAPI document and the refusals that happen before
// any data is read (the database-backed paths are covered by saga.int.test.ts).
import { describe, expect, it } from 'vitest';
import { createTicketApp } from './app.ts';

const app = createTicketApp({
  db: undefined as never,
  signQr: async () => 'signed',
  bodyLimitBytes: 1024,
  readiness: {},
});
const scan = (body: string, headers: Record<string, string>) =>
  app.request('/v1/tickets/scan', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
const staff = { 'x-user-id': 'door-1', 'x-user-roles': 'STAFF' };

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

  it('lets only door staff scan', async () => {
    expect((await scan('{"code":"AAAAAAAAAAAAAAAAAAAAAAAAAAA"}', {})).status).toBe(401);
    expect(
      (await scan('{"code":"AAAAAAAAAAAAAAAAAAAAAAAAAAA"}', { 'x-user-id': 'u1', 'x-user-roles': 'USER' }))
        .status,
    ).toBe(403);
  });

  it('answers bad input with 400, 413 or 422 naming the field', async () => {
    expect((await scan('{"code":', staff)).status).toBe(400);
    expect((await scan(JSON.stringify({ code: 'x'.repeat(2000) }), staff)).status).toBe(413);
    const invalid = await scan(JSON.stringify({ code: 'not base64url!' }), staff);
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ path: 'code' })]),
    });
    expect(
      (await scan(JSON.stringify({ code: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA', extra: 1 }), staff)).status,
    ).toBe(422);
  });
});

// The HTTP surface without infrastructure: the OpenAPI document and the refusals that happen before
// any data is read (the database-backed paths are covered by saga.int.test.ts).
import { testClient } from 'hono/testing';
import { describe, expect, it } from 'vitest';
import { createPaymentApp } from './app.ts';

const app = createPaymentApp({ db: undefined as never, bodyLimitBytes: 1024, readiness: {} });
const payments = testClient(app).v1.payments;

describe('payment API', () => {
  it('documents every route in OpenAPI', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/payments/{reservationId}');
  });

  it('refuses an anonymous caller and a malformed id with problem+json', async () => {
    const anonymous = await payments[':reservationId'].$get({
      param: { reservationId: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    const malformed = await payments[':reservationId'].$get(
      { param: { reservationId: '42' } },
      { headers: { 'x-user-id': 'u1' } },
    );
    expect(malformed.status).toBe(422);
  });
});

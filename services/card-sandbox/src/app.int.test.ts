// The sandbox against a real Postgres ledger, through its HTTP API: the caller must hold the API key,
// a retried key answers with the original charge or refund, a key reused with other parameters is
// refused with problem+json, and the test cards do what they say.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { withMigratedDatabase } from '@reservex/platform/testing';
import { testClient } from 'hono/testing';
import { describe, expect } from 'vitest';
import { createCardSandboxApp } from './app.ts';
import { schema } from './db/schema.ts';

const apiKey = 'test-api-key-of-at-least-24-characters';
type App = ReturnType<typeof createCardSandboxApp>;

/** The sandbox's app on a ledger database of the file's own. */
const it = withMigratedDatabase({
  name: 'card_sandbox_int',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
  max: 4,
}).extend<{ app: App }>({
  app: [
    async ({ database }, use) =>
      use(createCardSandboxApp({ db: database.db, apiKey, slowResponseMs: 50, flakyFailures: 2 })),
    { scope: 'file' },
  ],
});

const auth = (token = apiKey) => ({ headers: { authorization: `Bearer ${token}` } });

/** An answer with its body, a charge, a refund or a problem, whatever the status. */
async function read(response: { status: number; headers: Headers; json(): Promise<unknown> }) {
  // biome-ignore lint/suspicious/noExplicitAny: bodies are asserted field by field.
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

type ChargeRequest = { amountMinor: number; currency: string; paymentToken: string; reference?: string };
type RefundRequest = { chargeId: string; amountMinor: number; currency: string };

const postCharge = async (app: App, key: string, json: ChargeRequest, token = apiKey) =>
  read(await testClient(app).v1.charges.$post({ header: { 'idempotency-key': key }, json }, auth(token)));

const postRefund = async (app: App, key: string, json: RefundRequest) =>
  read(await testClient(app).v1.refunds.$post({ header: { 'idempotency-key': key }, json }, auth()));

async function ledger(app: App, reference: string) {
  const response = await testClient(app).v1.charges.$get({ query: { reference } }, auth());
  expect(response.status).toBe(200);
  const body = await response.json();
  if (!('items' in body)) throw new Error('the ledger answered without items');
  return body.items;
}

const charge = (paymentToken: string, reference = randomUUID()) => ({
  amountMinor: 4200,
  currency: 'EUR',
  paymentToken,
  reference,
});

describe('card sandbox', () => {
  it('refuses a caller without the API key, with problem+json', async ({ app }) => {
    const anonymous = await testClient(app).v1.charges.$get({ query: { reference: 'x' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    const wrong = await postCharge(app, randomUUID(), charge('tok_success'), 'not-the-key');
    expect(wrong.status).toBe(401);
  });

  it('answers a retried key with the original charge, and records one', async ({ app }) => {
    const key = randomUUID();
    const request = charge('tok_success');
    const first = await postCharge(app, key, request);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'captured',
      amountMinor: 4200,
      id: expect.stringMatching(/^ch_/),
    });
    const again = await postCharge(app, key, request);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await ledger(app, request.reference)).toHaveLength(1);
  });

  it('refuses a key reused with another amount, with problem+json, and charges nothing more', async ({
    app,
  }) => {
    const key = randomUUID();
    const request = charge('tok_success');
    await postCharge(app, key, request);
    const reused = await postCharge(app, key, { ...request, amountMinor: 9999 });
    expect(reused.status).toBe(409);
    expect(reused.headers.get('content-type')).toContain('application/problem+json');
    expect(reused.body.type).toMatch(/idempotency-key-reused$/);
    expect(await ledger(app, request.reference)).toMatchObject([{ amountMinor: 4200 }]);
  });

  it('records one charge for concurrent requests with one key', async ({ app }) => {
    const key = randomUUID();
    const request = charge('tok_success');
    const answers = await Promise.all([1, 2, 3, 4].map(() => postCharge(app, key, request)));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await ledger(app, request.reference)).toHaveLength(1);
  });

  it('declines the declining test cards and any card it does not know', async ({ app }) => {
    for (const [token, reason] of [
      ['tok_declined', 'DECLINED'],
      ['tok_insufficient_funds', 'INSUFFICIENT_FUNDS'],
      ['tok_unknown', 'DECLINED'],
    ] as const) {
      const answer = await postCharge(app, randomUUID(), charge(token));
      expect(answer.body).toMatchObject({ status: 'declined', declineReason: reason });
    }
  });

  it('answers 503 for an unavailable processor and records nothing', async ({ app }) => {
    const request = charge('tok_processor_error');
    const answer = await postCharge(app, randomUUID(), request);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(await ledger(app, request.reference)).toEqual([]);
  });

  it('fails the first attempts of a flaky card, then captures under the same key', async ({ app }) => {
    const key = randomUUID();
    const request = charge('tok_processor_flaky');
    expect((await postCharge(app, key, request)).status).toBe(503);
    expect((await postCharge(app, key, request)).status).toBe(503);
    expect((await postCharge(app, key, request)).body).toMatchObject({ status: 'captured' });
  });

  it('refunds a capture once; a replay returns it, another key or amount is refused', async ({ app }) => {
    const captured = (await postCharge(app, randomUUID(), charge('tok_success'))).body;
    const refund = { chargeId: captured.id, amountMinor: 4200, currency: 'EUR' };
    const key = randomUUID();
    const first = await postRefund(app, key, refund);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'refunded',
      chargeId: captured.id,
      id: expect.stringMatching(/^re_/),
    });
    expect((await postRefund(app, key, refund)).body).toEqual(first.body);
    expect((await postRefund(app, key, { ...refund, amountMinor: 1 })).status).toBe(409);
    const second = await postRefund(app, randomUUID(), refund);
    expect([second.status, second.body.type]).toEqual([
      409,
      expect.stringMatching(/charge-already-refunded$/),
    ]);
    expect((await postRefund(app, randomUUID(), { ...refund, chargeId: 'ch_nope' })).status).toBe(404);

    const other = (await postCharge(app, randomUUID(), charge('tok_success'))).body;
    const tooMuch = await postRefund(app, randomUUID(), {
      chargeId: other.id,
      amountMinor: 9999,
      currency: 'EUR',
    });
    expect(tooMuch.status).toBe(422);
    const declined = (await postCharge(app, randomUUID(), charge('tok_declined'))).body;
    const notCaptured = await postRefund(app, randomUUID(), {
      chargeId: declined.id,
      amountMinor: 1,
      currency: 'EUR',
    });
    expect(notCaptured.status).toBe(409);
  });

  it('refuses malformed input with 422', async ({ app }) => {
    const answer = await postCharge(app, randomUUID(), {
      amountMinor: -1,
      currency: 'euro',
      paymentToken: '',
    });
    expect(answer.status).toBe(422);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
  });
});

// The reservation service as it runs — its own process and daprd, inventory next to it, real Kafka,
// Redis and Postgres: pass tokens, Idempotency-Key, one reservation in flight per user and show,
// every kind of bad input, and the saga's first step and its compensations with inventory alone
// (no payment service runs here, so a held reservation waits for payment until its hold expires).
import { randomUUID } from 'node:crypto';
import { deliveredBy, type StartedApps, startApps } from '@reservex/local';
import { hc } from 'hono/client';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { createReservationApp } from './app.ts';

type ReservationApp = ReturnType<typeof createReservationApp>;

const infra = inject('infra');
const secret = 'integration-secret-of-at-least-32-characters';
const HOLD_TTL_SECONDS = 10;

let stack: StartedApps<'inventory' | 'reservation'>;
let inventoryUrl: string;
let reservationUrl: string;

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  stack = await startApps({
    infra,
    apps: [
      {
        appId: 'inventory',
        args: ['services/inventory/src/main.ts'],
        database: `inventory_api_${suffix}`,
        logLevel: 'warn',
      },
      {
        appId: 'reservation',
        args: ['services/reservation/src/main.ts'],
        database: `reservation_api_${suffix}`,
        logLevel: 'warn',
        env: {
          PASS_TOKEN_SECRET: secret,
          HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
          EXPIRY_SWEEP_INTERVAL_MS: '500',
          BODY_LIMIT_BYTES: '4096',
        },
      },
    ],
  });
  inventoryUrl = stack.apps.inventory.url;
  reservationUrl = stack.apps.reservation.url;
  // The first hold after start-up waits for the consumer groups to join; wait (bounded) for one, so
  // the tests below measure the service, not Kafka's rebalancing.
  const show = await createShow(10);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const user = `warm-up-${randomUUID()}`;
    const placed = await reserve(user, show);
    const status = await statusOf(user, placed.body.id, ['AWAITING_PAYMENT', 'CANCELLED'], 60_000).then(
      (reservation) => reservation.status,
      () => 'PENDING',
    );
    await cancelReservation(user, placed.body.id);
    if (status === 'AWAITING_PAYMENT') break;
    if (Date.now() > deadline) throw new Error('no hold within 120 s of start-up');
  }
});
afterAll(() => stack?.stop());

// biome-ignore lint/suspicious/noExplicitAny: the bodies are asserted field by field.
type Answer = { status: number; type: string | null; headers: Headers; body: any };

/** An answer's status, content type, headers and body (JSON when it parses), whatever the status. */
async function answerOf(response: {
  status: number;
  headers: Headers;
  text(): Promise<string>;
}): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    headers: response.headers,
    body,
  };
}

/** A raw request: inventory's routes, and the bodies and headers a typed client cannot send. */
async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  // Each service's port is called as its sidecar delivers the gateway's call.
  const target = Object.values(stack.apps).find((app) => url.startsWith(`${app.url}/`));
  return answerOf(
    await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        'content-type': 'application/json',
        ...(target ? deliveredBy(target) : {}),
        ...init.headers,
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(15_000),
    }),
  );
}

/** One reservation's routes as `user`, through hono's typed client, as the sidecar delivers the gateway's call. */
const reservationOf = (user: string) =>
  hc<ReservationApp>(reservationUrl, {
    headers: { ...deliveredBy(stack.apps.reservation), 'x-user-id': user },
  }).v1.reservations[':id'];
const getReservation = async (user: string, id: string) =>
  answerOf(await reservationOf(user).$get({ param: { id } }));
const cancelReservation = async (user: string, id: string) =>
  answerOf(await reservationOf(user).cancel.$post({ param: { id } }));

async function createShow(capacity: number, perOrderLimit = 4) {
  const created = await http(`${inventoryUrl}/v1/shows`, {
    method: 'POST',
    headers: { 'x-user-id': 'admin', 'x-user-roles': 'ADMIN' },
    body: {
      title: 'Reservation API test',
      venue: 'Hall',
      startsAt: '2027-06-01T20:00:00Z',
      ticketTypes: [
        {
          name: 'Seat',
          priceMinor: 1000,
          currency: 'EUR',
          capacity,
          saleStartsAt: new Date(Date.now() - 60_000).toISOString(),
          perOrderLimit,
        },
      ],
    },
  });
  expect(created.status).toBe(201);
  return { showId: created.body.id as string, ticketTypeId: created.body.ticketTypes[0].id as string };
}

/** A pass, as the queue would sign it when admitting `userId` to `showId`. */
function pass(userId: string, showId: string, ttlSeconds = 300, key = secret) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ show: showId, typ: 'pass' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(key));
}

type Show = { showId: string; ticketTypeId: string };

async function reserve(
  user: string,
  show: Show,
  options: {
    quantity?: unknown;
    key?: string;
    passToken?: string | null;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
) {
  const target = (options.body as { showId?: unknown } | undefined)?.showId;
  const passFor = typeof target === 'string' ? target : show.showId;
  const passToken = options.passToken === undefined ? await pass(user, passFor) : options.passToken;
  return http(`${reservationUrl}/v1/reservations`, {
    method: 'POST',
    headers: {
      'x-user-id': user,
      'idempotency-key': options.key ?? randomUUID(),
      ...(passToken === null ? {} : { 'x-pass-token': passToken }),
      ...options.headers,
    },
    body: options.body ?? {
      ...show,
      quantity: options.quantity ?? 1,
      paymentMethod: { token: 'tok_success' },
    },
  });
}

/** The reservation once its status is one of `wanted`; fails with the status it has when the time is up. */
async function statusOf(user: string, id: string, wanted: string[], timeoutMs = 30_000) {
  return vi.waitFor(
    async () => {
      const answer = await getReservation(user, id);
      expect(wanted).toContain(answer.body?.status);
      return answer.body;
    },
    { timeout: timeoutMs, interval: 200 },
  );
}

async function stock(showId: string) {
  const answer = await http(`${inventoryUrl}/v1/shows/${showId}/stock`, {
    headers: { 'x-user-id': 'admin', 'x-user-roles': 'ADMIN' },
  });
  return answer.body.stock[0] as { capacity: number; available: number; held: number; sold: number };
}

describe('placing a reservation', () => {
  it('needs a valid, unspent pass for this user and show', async () => {
    const show = await createShow(10);
    const user = `user-${randomUUID()}`;
    const none = await reserve(user, show, { passToken: null });
    expect([none.status, none.body.type]).toEqual([403, 'https://reservex.dev/problems/pass-required']);
    const otherShow = await reserve(user, show, { passToken: await pass(user, randomUUID()) });
    expect([otherShow.status, otherShow.body.detail]).toEqual([403, expect.stringContaining('wrong-show')]);
    const otherUser = await reserve(user, show, { passToken: await pass('someone-else', show.showId) });
    expect(otherUser.status).toBe(403);
    const forged = await reserve(user, show, {
      passToken: await pass(user, show.showId, 300, 'x'.repeat(40)),
    });
    expect(forged.status).toBe(403);
    const expired = await reserve(user, show, { passToken: await pass(user, show.showId, -5) });
    expect([expired.status, expired.body.detail]).toEqual([403, expect.stringContaining('expired')]);

    const token = await pass(user, show.showId);
    const placed = await reserve(user, show, { passToken: token });
    expect(placed.status).toBe(201);
    expect(placed.headers.get('location')).toBe(`/v1/reservations/${placed.body.id}`);
    expect(placed.body).toMatchObject({ status: 'PENDING', quantity: 1, userId: user, ...show });
    const cancelled = await cancelReservation(user, placed.body.id);
    expect(cancelled.body.status).toBe('CANCELLED');
    // Spent: another request with it is refused.
    const again = await reserve(user, show, { passToken: token, quantity: 2 });
    expect([again.status, again.body.type]).toEqual([403, 'https://reservex.dev/problems/pass-spent']);
  });

  it('answers the request that spent a pass, sent again under another Idempotency-Key, with the reservation it bought', async () => {
    // A buyer whose first reply was lost (the reservation committed, the reply never stored) and who
    // tries again: their booking exists, and they are told so instead of being refused.
    const show = await createShow(10);
    const user = `user-${randomUUID()}`;
    const token = await pass(user, show.showId);
    const placed = await reserve(user, show, { passToken: token, quantity: 2 });
    expect(placed.status).toBe(201);
    const retried = await reserve(user, show, { passToken: token, quantity: 2 });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.headers.get('location')).toBe(`/v1/reservations/${placed.body.id}`);
    expect(retried.body).toMatchObject({ id: placed.body.id, userId: user, quantity: 2, ...show });
    // Once it has ended, the same: the answer says how it ended.
    await cancelReservation(user, placed.body.id);
    const late = await reserve(user, show, { passToken: token, quantity: 2 });
    expect([late.status, late.body.id, late.body.status]).toEqual([201, placed.body.id, 'CANCELLED']);
  });

  it('replays the same reply for the same Idempotency-Key and body, and refuses the key for another body', async () => {
    const show = await createShow(10);
    const user = `user-${randomUUID()}`;
    const key = randomUUID();
    const first = await reserve(user, show, { key, quantity: 2 });
    expect(first.status).toBe(201);
    // A retry carries the same body; its pass is the one already spent, and no pass is looked at.
    const retry = await reserve(user, show, { key, quantity: 2, passToken: null });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const other = await reserve(user, show, { key, quantity: 3 });
    expect([other.status, other.body.type]).toEqual([
      422,
      'https://reservex.dev/problems/idempotency-key-reused',
    ]);
  });

  it('keeps one reservation in flight per user and show, even when asked many times at once', async () => {
    const show = await createShow(50);
    const user = `user-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => reserve(user, show)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409))
      expect(refused.type).toContain('application/problem+json');
    // Another show is fine.
    expect((await reserve(user, await createShow(5))).status).toBe(201);
  });

  it('answers bad input with problem+json naming the field, never a 5xx', async () => {
    const show = await createShow(10, 4);
    const user = `user-${randomUUID()}`;
    const body = (extra: Record<string, unknown>) => ({
      ...show,
      quantity: 1,
      paymentMethod: { token: 't' },
      ...extra,
    });
    const cases: [string, Parameters<typeof reserve>[2], number, string?][] = [
      ['malformed JSON', { body: '{"showId": ' }, 400],
      ['quantity 0', { body: body({ quantity: 0 }) }, 422, 'quantity'],
      ['negative quantity', { body: body({ quantity: -2 }) }, 422, 'quantity'],
      ['fractional quantity', { body: body({ quantity: 1.5 }) }, 422, 'quantity'],
      ['quantity as a string', { body: body({ quantity: '2' }) }, 422, 'quantity'],
      ['quantity above the per-order limit', { body: body({ quantity: 5 }) }, 422, 'quantity'],
      ['no payment method', { body: { ...show, quantity: 1 } }, 422, 'paymentMethod'],
      ['showId not a uuid', { body: body({ showId: 'abc' }) }, 422, 'showId'],
      ['unknown show', { body: body({ showId: randomUUID() }) }, 404],
      ['unknown ticket type', { body: body({ ticketTypeId: randomUUID() }) }, 404],
      ['oversized body', { body: body({ padding: 'x'.repeat(5000) }) }, 413],
      ['no Idempotency-Key', { headers: { 'idempotency-key': '' } }, 422, 'idempotency-key'],
      ['no user', { headers: { 'x-user-id': '' } }, 401],
    ];
    for (const [name, options, status, field] of cases) {
      const answer = await reserve(user, show, options);
      expect(answer.status, name).toBe(status);
      expect(answer.type, name).toContain('application/problem+json');
      if (field) expect(JSON.stringify(answer.body.errors), name).toContain(field);
    }
  });

  it('shows a reservation only to its owner', async () => {
    const show = await createShow(10);
    const owner = `user-${randomUUID()}`;
    const placed = await reserve(owner, show);
    const mine = await getReservation(owner, placed.body.id);
    expect(mine.status).toBe(200);
    const theirs = await getReservation('intruder', placed.body.id);
    expect(theirs.status).toBe(404);
    const cancelTheirs = await cancelReservation('intruder', placed.body.id);
    expect(cancelTheirs.status).toBe(404);
    const unknown = await getReservation(owner, randomUUID());
    expect(unknown.status).toBe(404);
  });
});

describe('operations', () => {
  it('documents every route, and is ready with its database and sidecar', async () => {
    const doc = await http(`${reservationUrl}/openapi.json`);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/reservations', '/v1/reservations/{id}', '/v1/reservations/{id}/cancel']),
    );
    const ready = await http(`${reservationUrl}/readyz`);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { db: 'ok', dapr: 'ok' } });
  });
});

describe('the saga with inventory alone', () => {
  it('holds stock, waits for a payment that never comes, expires, and inventory releases the hold', async () => {
    const show = await createShow(3);
    const user = `user-${randomUUID()}`;
    const placed = await reserve(user, show, { quantity: 2 });
    const held = await statusOf(user, placed.body.id, ['AWAITING_PAYMENT']);
    expect(held.status).toBe('AWAITING_PAYMENT');
    expect(await stock(show.showId)).toMatchObject({ available: 1, held: 2, sold: 0 });
    const ended = await statusOf(user, placed.body.id, ['CANCELLED'], (HOLD_TTL_SECONDS + 20) * 1000);
    expect(ended).toMatchObject({ status: 'CANCELLED', reason: 'EXPIRED', failedStep: 'expiry' });
    await expect
      .poll(() => stock(show.showId), { timeout: 20_000, interval: 200 })
      .toMatchObject({ capacity: 3, available: 3, held: 0, sold: 0 });
  });

  it('cancels as SOLD_OUT when inventory cannot hold, and a user cancel releases what was held', async () => {
    const show = await createShow(1);
    const first = `user-${randomUUID()}`;
    const second = `user-${randomUUID()}`;
    const a = await reserve(first, show);
    expect(await statusOf(first, a.body.id, ['AWAITING_PAYMENT'])).toMatchObject({
      status: 'AWAITING_PAYMENT',
    });
    const b = await reserve(second, show);
    expect(await statusOf(second, b.body.id, ['CANCELLED'])).toMatchObject({
      status: 'CANCELLED',
      reason: 'SOLD_OUT',
      failedStep: 'stock',
    });
    const cancel = await cancelReservation(first, a.body.id);
    expect(cancel.body).toMatchObject({ status: 'CANCELLED', reason: 'USER_CANCELLED', failedStep: 'user' });
    await expect
      .poll(() => stock(show.showId), { timeout: 20_000, interval: 200 })
      .toMatchObject({ capacity: 1, available: 1, held: 0, sold: 0 });
  });
});

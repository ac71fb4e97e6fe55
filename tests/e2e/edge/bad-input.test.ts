// Bad input on every public route, through the gateway: missing fields, wrong types, huge strings,
// unicode where it does not belong, extra fields, broken JSON. Each is refused with 400/413/415/422
// problem+json naming the offending field, never a 5xx. Unicode where it is legitimate is accepted.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import type { StartedApps } from '@reservex/local';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  type ApiResponse,
  call,
  expectProblem,
  mintAccessToken,
  newSigningKey,
  rawCall,
  type SigningKey,
  startEdge,
} from './support.ts';

const infra = inject('infra');
const SHOW = randomUUID();
const TYPE = randomUUID();
const HUGE = 'x'.repeat(20_000);

type Who = 'anonymous' | 'user' | 'admin';

interface BadCase {
  name: string;
  method: string;
  path: string;
  who: Who;
  body?: unknown;
  headers?: Record<string, string>;
  /** The field the answer must name (omit for a body that is not JSON at all). */
  field?: string;
}

const ticketType = {
  name: 'Seated',
  priceMinor: 1000,
  currency: 'EUR',
  capacity: 10,
  saleStartsAt: '2026-01-01T00:00:00Z',
  perOrderLimit: 4,
};
const show = { title: 'Night', venue: 'Hall', startsAt: '2027-01-01T20:00:00Z' };
const reservation = {
  showId: SHOW,
  ticketTypeId: TYPE,
  quantity: 1,
  paymentMethod: { token: 'tok_success' },
};
const reserveHeaders = { 'idempotency-key': randomUUID(), 'x-pass-token': 'eyJ.eyJ.sig' };
const credentials = { email: 'ada@example.com', password: 'correct horse battery' };

const cases: BadCase[] = [
  // account
  {
    name: 'signup without password',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { email: 'a@b.co' },
    field: 'password',
  },
  {
    name: 'signup email of wrong type',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { ...credentials, email: 42 },
    field: 'email',
  },
  {
    name: 'signup huge email',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { ...credentials, email: `${HUGE}@x.io` },
    field: 'email',
  },
  {
    name: 'signup unicode email',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { ...credentials, email: 'ädä@例え.jp' },
    field: 'email',
  },
  {
    name: 'signup huge password',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { ...credentials, password: HUGE },
    field: 'password',
  },
  {
    name: 'signup extra field',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: { ...credentials, roles: ['ADMIN'] },
    field: 'roles',
  },
  {
    name: 'signup broken JSON',
    method: 'POST',
    path: '/api/v1/auth/signup',
    who: 'anonymous',
    body: '{"email": "a@b.co",',
  },
  {
    name: 'login without email',
    method: 'POST',
    path: '/api/v1/auth/login',
    who: 'anonymous',
    body: { password: 'x' },
    field: 'email',
  },
  {
    name: 'login password of wrong type',
    method: 'POST',
    path: '/api/v1/auth/login',
    who: 'anonymous',
    body: { email: 'a@b.co', password: ['x'] },
    field: 'password',
  },
  {
    name: 'login extra field',
    method: 'POST',
    path: '/api/v1/auth/login',
    who: 'anonymous',
    body: { ...credentials, admin: true },
    field: 'admin',
  },
  {
    name: 'refresh without token',
    method: 'POST',
    path: '/api/v1/auth/refresh',
    who: 'anonymous',
    body: {},
    field: 'refreshToken',
  },
  {
    name: 'refresh huge token',
    method: 'POST',
    path: '/api/v1/auth/refresh',
    who: 'anonymous',
    body: { refreshToken: HUGE },
    field: 'refreshToken',
  },
  {
    name: 'logout token of wrong type',
    method: 'POST',
    path: '/api/v1/auth/logout',
    who: 'anonymous',
    body: { refreshToken: 7 },
    field: 'refreshToken',
  },
  // inventory
  {
    name: 'show list with a bad limit',
    method: 'GET',
    path: '/api/v1/shows?limit=lots',
    who: 'anonymous',
    field: 'limit',
  },
  {
    name: 'show with a malformed id',
    method: 'GET',
    path: '/api/v1/shows/not-a-uuid',
    who: 'anonymous',
    field: 'showId',
  },
  {
    name: 'show with a unicode id',
    method: 'GET',
    path: `/api/v1/shows/${encodeURIComponent('ſhow-✓')}`,
    who: 'anonymous',
    field: 'showId',
  },
  {
    name: 'create show without title',
    method: 'POST',
    path: '/api/v1/shows',
    who: 'admin',
    body: { venue: 'Hall', startsAt: show.startsAt },
    field: 'title',
  },
  {
    name: 'create show with a huge title',
    method: 'POST',
    path: '/api/v1/shows',
    who: 'admin',
    body: { ...show, title: HUGE },
    field: 'title',
  },
  {
    name: 'create show with a date of wrong type',
    method: 'POST',
    path: '/api/v1/shows',
    who: 'admin',
    body: { ...show, startsAt: 1_700_000_000 },
    field: 'startsAt',
  },
  {
    name: 'create show with a bad ticket type',
    method: 'POST',
    path: '/api/v1/shows',
    who: 'admin',
    body: { ...show, ticketTypes: [{ ...ticketType, currency: '€UR' }] },
    field: 'currency',
  },
  {
    name: 'update show with a wrong type',
    method: 'PATCH',
    path: `/api/v1/shows/${SHOW}`,
    who: 'admin',
    body: { venue: false },
    field: 'venue',
  },
  {
    name: 'add ticket type with negative capacity',
    method: 'POST',
    path: `/api/v1/shows/${SHOW}/ticket-types`,
    who: 'admin',
    body: { ...ticketType, capacity: -1 },
    field: 'capacity',
  },
  {
    name: 'add ticket type without price',
    method: 'POST',
    path: `/api/v1/shows/${SHOW}/ticket-types`,
    who: 'admin',
    body: { ...ticketType, priceMinor: undefined },
    field: 'priceMinor',
  },
  {
    name: 'update ticket type with a fractional price',
    method: 'PATCH',
    path: `/api/v1/shows/${SHOW}/ticket-types/${TYPE}`,
    who: 'admin',
    body: { priceMinor: 10.5 },
    field: 'priceMinor',
  },
  {
    name: 'update ticket type of a malformed id',
    method: 'PATCH',
    path: `/api/v1/shows/${SHOW}/ticket-types/nope`,
    who: 'admin',
    body: { priceMinor: 10 },
    field: 'ticketTypeId',
  },
  // queue
  {
    name: 'join a malformed show',
    method: 'POST',
    path: '/api/v1/queue/not-a-uuid/join',
    who: 'user',
    field: 'showId',
  },
  {
    name: 'position in a huge show id',
    method: 'GET',
    path: `/api/v1/queue/${'9'.repeat(150)}/position`,
    who: 'user',
    field: 'showId',
  },
  {
    name: 'events of a unicode show id',
    method: 'GET',
    path: `/api/v1/queue/${encodeURIComponent('шоу')}/events`,
    who: 'user',
    field: 'showId',
  },
  // reservation
  {
    name: 'reserve without quantity',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: reserveHeaders,
    body: { ...reservation, quantity: undefined },
    field: 'quantity',
  },
  {
    name: 'reserve a quantity of wrong type',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: reserveHeaders,
    body: { ...reservation, quantity: 'two' },
    field: 'quantity',
  },
  {
    name: 'reserve with a huge payment token',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: reserveHeaders,
    body: { ...reservation, paymentMethod: { token: HUGE } },
    field: 'token',
  },
  {
    name: 'reserve a malformed show',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: reserveHeaders,
    body: { ...reservation, showId: 'ünïcødé' },
    field: 'showId',
  },
  {
    name: 'reserve with an extra field',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: reserveHeaders,
    body: { ...reservation, userId: randomUUID() },
    field: 'userId',
  },
  {
    name: 'reserve without idempotency key',
    method: 'POST',
    path: '/api/v1/reservations',
    who: 'user',
    headers: { 'x-pass-token': 'p' },
    body: reservation,
    field: 'idempotency-key',
  },
  {
    name: 'cancel a malformed reservation',
    method: 'POST',
    path: '/api/v1/reservations/123/cancel',
    who: 'user',
    field: 'id',
  },
  // query
  {
    name: 'reservation with a malformed id',
    method: 'GET',
    path: '/api/v1/reservations/not-a-uuid',
    who: 'user',
    field: 'reservationId',
  },
  {
    name: 'reservation events with a malformed id',
    method: 'GET',
    path: '/api/v1/reservations/xyz/events',
    who: 'user',
    field: 'reservationId',
  },
  {
    name: 'my reservations with a bad limit',
    method: 'GET',
    path: '/api/v1/reservations?limit=-3',
    who: 'user',
    field: 'limit',
  },
  {
    name: 'dead letters with a bad limit',
    method: 'GET',
    path: '/api/v1/admin/dead-letters?limit=x',
    who: 'admin',
    field: 'limit',
  },
  {
    name: 'replay a malformed dead letter',
    method: 'POST',
    path: '/api/v1/admin/dead-letters/nope/replay',
    who: 'admin',
    field: 'id',
  },
  // ticket, payment
  {
    name: 'ticket with a malformed id',
    method: 'GET',
    path: '/api/v1/tickets/not-a-uuid',
    who: 'user',
    field: 'ticketId',
  },
  {
    name: 'scan without code',
    method: 'POST',
    path: '/api/v1/tickets/scan',
    who: 'admin',
    body: {},
    field: 'code',
  },
  {
    name: 'scan a code of wrong type',
    method: 'POST',
    path: '/api/v1/tickets/scan',
    who: 'admin',
    body: { code: { nested: true } },
    field: 'code',
  },
  {
    name: 'payment of a malformed reservation',
    method: 'GET',
    path: '/api/v1/payments/zzz',
    who: 'user',
    field: 'reservationId',
  },
];

describe('edge: bad input on every public route', () => {
  let stack: StartedApps<AppId>;
  let gateway: string;
  let key: SigningKey;
  const tokens: Record<Who, string | undefined> = { anonymous: undefined, user: undefined, admin: undefined };

  beforeAll(async () => {
    key = await newSigningKey();
    stack = await startEdge(infra, {
      signingKey: key,
      with: ['inventory', 'reservation', 'payment', 'ticket', 'query'],
    });
    gateway = stack.apps.gateway.url;
    tokens.user = await mintAccessToken(key, { userId: randomUUID() });
    tokens.admin = await mintAccessToken(key, { userId: randomUUID(), roles: ['USER', 'ADMIN'] });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  function expectRefusal(response: ApiResponse, field: string | undefined, path: string) {
    expect(response.status, response.text).toBeGreaterThanOrEqual(400);
    expect(response.status, response.text).toBeLessThan(500);
    expect([400, 413, 415, 422], response.text).toContain(response.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    if (field) expect(response.text.toLowerCase(), `names ${field}`).toContain(field.toLowerCase());
    // The problem names the path the client called, not the service's internal one.
    const instance = (response.body as { instance?: string }).instance;
    if (instance !== undefined) expect(instance).toBe(decodeURI(path.split('?')[0]!));
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
    const response = await call(gateway, bad.method, bad.path, {
      ...(tokens[bad.who] ? { token: tokens[bad.who] } : {}),
      ...(bad.headers ? { headers: bad.headers } : {}),
      ...(bad.body !== undefined ? { body: bad.body } : {}),
    });
    expectRefusal(response, bad.field, bad.path);
  });

  it('accepts unicode where it belongs', async () => {
    const password = 'pässwörd mit Ümläuten ✓ 🎟️';
    const email = `unicode-${randomUUID().slice(0, 8)}@example.com`;
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', { body: { email, password } });
    expect(signup.status, signup.text).toBe(202);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password } });
    expect(login.status, login.text).toBe(200);
    const created = await call(gateway, 'POST', '/api/v1/shows', {
      token: tokens.admin,
      body: { ...show, title: 'Ночь 🎭 ليلة', venue: 'Salle Pleyel – Paris' },
    });
    expect(created.status, created.text).toBe(201);
  });
  it("documents every public route from its service's own description", async () => {
    const document = await call<{
      info: Record<string, unknown>;
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    }>(gateway, 'GET', '/api/openapi.json');
    expect(document.status).toBe(200);
    expect(document.body.info['x-unavailable-services']).toBeUndefined();
    expect(document.body.paths['/api/v1/reservations']?.post?.requestBody).toBeDefined();
    expect(document.body.paths['/api/v1/shows']?.post?.responses).toHaveProperty('403');
    const operations = Object.values(document.body.paths).flatMap((item) => Object.keys(item));
    // One operation per route of the gateway's table (services/gateway/src/domain/routes.ts).
    expect(operations).toHaveLength(26);
  });

  describe('one canonical form of paths and headers', () => {
    it.each([
      ['..%2F towards the internal OpenAPI document', '/api/v1/shows/..%2F..%2Fopenapi.json'],
      ['..%2F towards the subscriptions', '/api/v1/shows/..%2F..%2F..%2Fdapr%2Fsubscribe'],
      ['%2e%2e dot segments', '/api/v1/shows/%2e%2e/%2e%2e/openapi.json'],
      ['plain dot segments', '/api/v1/shows/../../../dapr/subscribe'],
      ['NUL in a show id', '/api/v1/shows/%00'],
      ['NUL in a reservation id', '/api/v1/reservations/%00'],
      ['an encoded backslash', '/api/v1/shows/a%5Cb'],
      ['an encoded question mark', '/api/v1/shows/a%3Fb'],
      ['an encoded % (decoded twice on the way)', '/api/v1/shows/..%252F..%252Fopenapi.json'],
      ['an encoded % in an id', '/api/v1/shows/x%25y'],
      ['bytes that are not UTF-8', '/api/v1/shows/%FF%FE'],
      ['NUL in the query', '/api/v1/shows?limit=%00'],
    ])('%s → 400', async (_name, target) => {
      const response = await rawCall(gateway, 'GET', target);
      expectProblem(response, 400, 'bad-request');
      expect(response.text).not.toMatch(/"openapi"|pubsubname/i);
    });

    it.each([
      ['idempotency-key', 'POST', '/api/v1/reservations'],
      ['x-pass-token', 'POST', '/api/v1/reservations'],
      ['accept-language', 'GET', '/api/v1/shows'],
    ])('a %s value the sidecar cannot carry → 400 naming it', async (header, method, target) => {
      // Node sends these characters as single bytes (latin1): not UTF-8, not ASCII.
      const response = await rawCall(gateway, method, target, {
        authorization: `Bearer ${tokens.user}`,
        [header]: 'caf\u00e9-\u00ff',
      });
      expectProblem(response, 400, 'bad-request');
      expect((response.body as { header?: string }).header).toBe(header);
    });
  });

  // A show on sale, created once for the tests that book.
  let onSale: Promise<{ showId: string; ticketTypeId: string }> | undefined;
  function showOnSale() {
    onSale ??= call(gateway, 'POST', '/api/v1/shows', {
      token: tokens.admin,
      body: {
        ...show,
        title: `Edge ${randomUUID().slice(0, 8)}`,
        ticketTypes: [{ ...ticketType, saleStartsAt: new Date(Date.now() - 60_000).toISOString() }],
      },
    }).then((created) => {
      expect(created.status, created.text).toBe(201);
      return { showId: created.body.id as string, ticketTypeId: created.body.ticketTypes[0].id as string };
    });
    return onSale;
  }

  /** Joins the show's waiting room and waits (bounded) for the pass it hands out. */
  async function passFor(token: string, showId: string): Promise<string> {
    const joined = await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, { token });
    expect(joined.status, joined.text).toBe(200);
    return vi.waitFor(
      async () => {
        const position = await call(gateway, 'GET', `/api/v1/queue/${showId}/position`, { token });
        if (position.body.status !== 'admitted') throw new Error(`not admitted yet: ${position.text}`);
        return position.body.passToken as string;
      },
      { timeout: 30_000, interval: 200 },
    );
  }

  it('refuses NUL and unpaired surrogates in any text with 422 naming the field, and the pass still works', async () => {
    for (const [field, body] of [
      ['title', { ...show, title: 'Night\u0000' }],
      ['title', { ...show, title: 'Night \ud800' }],
      ['venue', { ...show, venue: '\udfffHall' }],
      ['name', { ...show, ticketTypes: [{ ...ticketType, name: 'Seat\u0000ed' }] }],
    ] as const) {
      const response = await call(gateway, 'POST', '/api/v1/shows', { token: tokens.admin, body });
      expectProblem(response, 422, 'validation-failed');
      expect(response.text, field).toContain(field);
    }
    for (const credentials of [
      { email: 'nul\u0000@example.com', password: 'correct horse battery' },
      { email: 'ada@example.com', password: 'correct horse \ud83c battery' },
    ]) {
      expectProblem(await call(gateway, 'POST', '/api/v1/auth/signup', { body: credentials }), 422);
    }

    const { showId, ticketTypeId } = await showOnSale();
    const buyer = await mintAccessToken(key, { userId: randomUUID() });
    const pass = await passFor(buyer, showId);
    const book = (cardToken: string) =>
      call(gateway, 'POST', '/api/v1/reservations', {
        token: buyer,
        headers: { 'idempotency-key': randomUUID(), 'x-pass-token': pass },
        body: { showId, ticketTypeId, quantity: 1, paymentMethod: { token: cardToken } },
      });
    for (const cardToken of ['tok_\u0000success', 'tok_success\ud800', '\udc00']) {
      const refused = await book(cardToken);
      expectProblem(refused, 422, 'validation-failed');
      expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'paymentMethod.token' })]);
    }
    const placed = await book('tok_success');
    expect(placed.status, placed.text).toBe(201);
  });

  it('refuses a forged list cursor with 400', async () => {
    const forged = [
      Buffer.from(JSON.stringify(['1', '-'.repeat(36)])).toString('base64url'),
      Buffer.from(JSON.stringify(['2026-02-30 10:00:00+00', randomUUID()])).toString('base64url'),
      'not-a-cursor',
    ];
    for (const cursor of forged) {
      const mine = await call(gateway, 'GET', `/api/v1/reservations?cursor=${cursor}`, {
        token: tokens.user,
      });
      expectProblem(mine, 400, 'invalid-cursor');
      const letters = await call(gateway, 'GET', `/api/v1/admin/dead-letters?cursor=${cursor}`, {
        token: tokens.admin,
      });
      expectProblem(letters, 400, 'invalid-cursor');
    }
  });

  it('writes no password, token, pass or card token to any log', async () => {
    const email = `redaction-${randomUUID().slice(0, 8)}@example.com`;
    const password = `redaction password ${randomUUID()}`;
    const cardToken = `tok_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    expect((await call(gateway, 'POST', '/api/v1/auth/signup', { body: { email, password } })).status).toBe(
      202,
    );
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password } });
    expect(login.status, login.text).toBe(200);
    const wrong = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email, password: `${password}!` },
    });
    expectProblem(wrong, 401);
    const refreshed = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: login.body.refreshToken },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    const { showId, ticketTypeId } = await showOnSale();
    const pass = await passFor(refreshed.body.accessToken, showId);
    const placed = await call(gateway, 'POST', '/api/v1/reservations', {
      token: refreshed.body.accessToken,
      headers: { 'idempotency-key': randomUUID(), 'x-pass-token': pass },
      body: { showId, ticketTypeId, quantity: 1, paymentMethod: { token: cardToken } },
    });
    expect(placed.status, placed.text).toBe(201);
    // The same pass for another request (spent), and a request the gateway refuses, each carrying
    // the secrets.
    const again = await call(gateway, 'POST', '/api/v1/reservations', {
      token: refreshed.body.accessToken,
      headers: { 'idempotency-key': randomUUID(), 'x-pass-token': pass },
      body: { showId, ticketTypeId, quantity: 2, paymentMethod: { token: cardToken } },
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    const logout = await call(gateway, 'POST', '/api/v1/auth/logout', {
      token: refreshed.body.accessToken,
      body: { refreshToken: refreshed.body.refreshToken },
    });
    expect(logout.status).toBe(204);
    expectProblem(
      await call(gateway, 'GET', `/api/v1/reservations/${placed.body.id}`, {
        token: refreshed.body.accessToken,
      }),
      401,
    );

    const secrets = {
      password,
      cardToken,
      pass,
      accessToken: login.body.accessToken as string,
      refreshedAccessToken: refreshed.body.accessToken as string,
      refreshToken: login.body.refreshToken as string,
      nextRefreshToken: refreshed.body.refreshToken as string,
      mintedUserToken: tokens.user!,
      mintedAdminToken: tokens.admin!,
      signingKey: key.privateJwk.d!,
    };
    // Give the saga a moment to carry the card token through payment, whose logs are read too.
    await vi.waitFor(
      async () => {
        const details = await call(gateway, 'GET', `/api/v1/reservations/${placed.body.id}`, {
          token: await mintAccessToken(key, { userId: placed.body.userId }),
        });
        if (details.status !== 200 || details.body.status === 'PENDING')
          throw new Error('saga still running');
      },
      { timeout: 30_000, interval: 250 },
    );
    const logs = Object.values(stack.apps)
      .flatMap((app) => [app.logs(), app.sidecar?.logs() ?? ''])
      .join('\n');
    // The logs do record these requests (so the search below looks at something).
    expect(logs).toContain('"path":"/v1/auth/refresh"');
    expect(logs).toContain('"path":"/v1/reservations"');
    for (const [name, secret] of Object.entries(secrets)) {
      expect(logs.includes(secret), `${name} appears in a log`).toBe(false);
    }
  });

  // Last: the server stops reading an oversized body and closes that connection shortly after its
  // answer, which a request reusing the connection would feel.
  it('refuses a body over the limit with 413, and a non-JSON body with 400/415', async () => {
    const big = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email: 'a@b.co', password: 'x'.repeat(200_000) },
    });
    expect(big.status, big.text).toBe(413);
    const form = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: 'email=a@b.co&password=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([400, 415, 422]).toContain(form.status);
    expect(form.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

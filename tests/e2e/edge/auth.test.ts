// Who gets in, through the gateway only: sign-up and login, the refusals of bad tokens (each a 401
// problem), trusted identity that a client cannot forge, admin routes, brute-force throttling, and
// refresh-token rotation with reuse detection.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import type { StartedApps } from '@reservex/local';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  AUDIENCE,
  base64url,
  call,
  expectProblem,
  ISSUER,
  mintAccessToken,
  newSigningKey,
  openShow,
  type SigningKey,
  startEdge,
} from './support.ts';

const infra = inject('infra');

describe('edge: authentication and identity', () => {
  let stack: StartedApps<AppId>;
  let gateway: string;
  let key: SigningKey;
  /** A show on sale, whose waiting room the tests join. */
  let SHOW: string;

  beforeAll(async () => {
    key = await newSigningKey();
    stack = await startEdge(infra, {
      signingKey: key,
      env: {
        account: { ADMIN_EMAILS: 'root@reservex.test', LOGIN_MAX_FAILURES: '3', LOGIN_LOCK_BASE_MS: '30s' },
        // A budget a burst of 150 exceeds however slowly a loaded machine lets the gateway take them;
        // no other test here spends more than a few requests per user.
        gateway: { RATE_LIMIT_USER_PER_SECOND: '5', RATE_LIMIT_USER_BURST: '30' },
      },
    });
    gateway = stack.apps.gateway.url;
    SHOW = (await openShow(gateway, key)).showId;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function signUpAndLogIn(
    email = `user-${randomUUID()}@reservex.test`,
    password = 'correct horse battery',
  ) {
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', { body: { email, password } });
    expect(signup.status, signup.text).toBe(202);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password } });
    expect(login.status, login.text).toBe(200);
    return { email, password, ...login.body } as {
      email: string;
      password: string;
      userId: string;
      roles: string[];
      accessToken: string;
      refreshToken: string;
    };
  }

  it('signs up, logs in and uses the access token', async () => {
    const user = await signUpAndLogIn();
    expect(user.roles).toEqual(['USER']);
    const joined = await call(gateway, 'POST', `/api/v1/queue/${SHOW}/join`, { token: user.accessToken });
    expect(joined.status, joined.text).toBe(200);
    expect(joined.body).toMatchObject({ status: expect.stringMatching(/waiting|admitted/) });
  });

  it('answers a sign-up with a taken email exactly as a new one, and leaves the account as it was', async () => {
    const taken = await signUpAndLogIn();
    const fresh = `new-${randomUUID()}@reservex.test`;
    const again = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email: taken.email.toUpperCase(), password: 'another long password' },
    });
    const first = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email: fresh.toUpperCase(), password: 'another long password' },
    });
    // Same status, same headers, same body with only the (echoed, normalised) email differing.
    expect(again.status, again.text).toBe(202);
    expect(first.status, first.text).toBe(202);
    expect(again.body).toEqual({ email: taken.email });
    expect(first.body).toEqual({ email: fresh });
    const shape = (response: typeof again) =>
      [...response.headers.keys()].filter(
        (name) => !['date', 'x-request-id', 'content-length'].includes(name),
      );
    expect(shape(again)).toEqual(shape(first));
    expect(again.text.length - taken.email.length).toBe(first.text.length - fresh.length);
    // The owner's password still opens the account; the newcomer's does not.
    const owner = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email: taken.email, password: taken.password },
    });
    expect(owner.status).toBe(200);
    expect(owner.body.userId).toBe(taken.userId);
    expectProblem(
      await call(gateway, 'POST', '/api/v1/auth/login', {
        body: { email: taken.email, password: 'another long password' },
      }),
      401,
      'invalid-credentials',
    );
  });

  it('publishes the signing key in the JWKS, public part only', async () => {
    const jwks = await call<{ keys: Record<string, unknown>[] }>(gateway, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.map((k) => k.kid)).toEqual([key.kid]);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
  });

  describe('refuses bad tokens with 401 problem+json', () => {
    const queue = `/api/v1/queue/${SHOW}/position`;

    it('no token', async () => {
      const response = await call(gateway, 'GET', queue);
      expectProblem(response, 401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('not a bearer token', async () => {
      expectProblem(
        await call(gateway, 'GET', queue, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
        401,
      );
    });

    it('an expired token', async () => {
      const token = await mintAccessToken(key, {
        userId: randomUUID(),
        issuedAt: Math.floor(Date.now() / 1000) - 3600,
        ttlSeconds: 900,
      });
      const response = await call(gateway, 'GET', queue, { token });
      expectProblem(response, 401);
      expect(response.body).toMatchObject({ detail: 'the token has expired' });
    });

    it('a token signed with another key under the real kid', async () => {
      const impostor = await newSigningKey(key.kid);
      const response = await call(gateway, 'GET', queue, {
        token: await mintAccessToken(impostor, { userId: randomUUID() }),
      });
      expectProblem(response, 401);
      expect(response.body).toMatchObject({ detail: 'the token signature is invalid' });
    });

    it('a token signed with an unknown key', async () => {
      const stranger = await newSigningKey();
      expectProblem(
        await call(gateway, 'GET', queue, {
          token: await mintAccessToken(stranger, { userId: randomUUID() }),
        }),
        401,
      );
    });

    it('alg none', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = `${base64url({ alg: 'none', typ: 'JWT', kid: key.kid })}.${base64url({
        sub: randomUUID(),
        roles: ['USER', 'ADMIN'],
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 900,
      })}.`;
      expectProblem(await call(gateway, 'GET', queue, { token }), 401);
    });

    it('an HMAC token keyed with the published public key', async () => {
      const jwks = await call<{ keys: Record<string, unknown>[] }>(gateway, 'GET', '/.well-known/jwks.json');
      const token = await new SignJWT({ roles: ['USER', 'ADMIN'] })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setSubject(randomUUID())
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(JSON.stringify(jwks.body.keys[0])));
      expectProblem(await call(gateway, 'GET', queue, { token }), 401);
    });

    it('a tampered payload', async () => {
      const [header, , signature] = (await mintAccessToken(key, { userId: randomUUID() })).split('.');
      const now = Math.floor(Date.now() / 1000);
      const payload = base64url({
        sub: randomUUID(),
        roles: ['USER', 'ADMIN'],
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 900,
      });
      const response = await call(gateway, 'GET', queue, { token: `${header}.${payload}.${signature}` });
      expectProblem(response, 401);
      expect(response.body).toMatchObject({ detail: 'the token signature is invalid' });
    });
  });

  it('ignores identity headers a client sends, anonymous or signed in', async () => {
    const victim = randomUUID();
    const anonymous = await call(gateway, 'POST', `/api/v1/queue/${SHOW}/join`, {
      headers: { 'x-user-id': victim, 'x-user-roles': 'USER,ADMIN' },
    });
    expectProblem(anonymous, 401);

    // A signed-in user claiming to be someone else acts as themself: their place is their own.
    const me = randomUUID();
    const token = await mintAccessToken(key, { userId: me });
    const victimToken = await mintAccessToken(key, { userId: victim });
    const mine = await call(gateway, 'POST', `/api/v1/queue/${SHOW}/join`, {
      token,
      headers: { 'x-user-id': victim, 'X-User-Roles': 'ADMIN' },
    });
    expect(mine.status, mine.text).toBe(200);
    const victims = await call(gateway, 'GET', `/api/v1/queue/${SHOW}/position`, { token: victimToken });
    expectProblem(victims, 404, 'not-in-queue');

    // Nor does a forged role open an admin route.
    const admin = await call(gateway, 'POST', '/api/v1/shows', {
      token,
      headers: { 'x-user-roles': 'ADMIN' },
      body: {},
    });
    expectProblem(admin, 403);
  });

  it('gives ADMIN to the configured addresses only, and admin routes need it', async () => {
    const root = await signUpAndLogIn('root@reservex.test');
    expect(root.roles).toEqual(['USER', 'ADMIN']);
    const user = await signUpAndLogIn();
    expectProblem(await call(gateway, 'GET', '/api/v1/admin/dead-letters', { token: user.accessToken }), 403);
    expectProblem(await call(gateway, 'GET', '/api/v1/admin/dead-letters'), 401);
  });

  it('throttles repeated failed logins for that email and address (429 + Retry-After), and the right password waits too', async () => {
    const user = await signUpAndLogIn();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await call(gateway, 'POST', '/api/v1/auth/login', {
        body: { email: user.email, password: `wrong password ${i}` },
      });
      statuses.push(response.status);
      if (response.status === 429) {
        expectProblem(response, 429);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      } else {
        expectProblem(response, 401, 'invalid-credentials');
      }
    }
    expect(statuses).toEqual([401, 401, 429, 429, 429]);
    const right = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expectProblem(right, 429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Another account from the same address is not affected.
    const other = await signUpAndLogIn();
    expect(other.accessToken).toBeTruthy();
  });

  it('rotates refresh tokens; reusing a rotated one is refused and revokes the whole family', async () => {
    const user = await signUpAndLogIn();
    const first = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: user.refreshToken },
    });
    expect(first.status, first.text).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    const second = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
    });
    expect(second.status, second.text).toBe(200);

    const reused = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: user.refreshToken },
    });
    expectProblem(reused, 401, 'invalid-refresh-token');
    // The newest token of the family, never used, is dead too.
    const newest = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: second.body.refreshToken },
    });
    expectProblem(newest, 401, 'invalid-refresh-token');

    // Another login is a separate family and still works.
    const again = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(again.status).toBe(200);
    const fresh = await call(gateway, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: again.body.refreshToken },
    });
    expect(fresh.status).toBe(200);
  });

  it('logs out: neither the refresh token nor the access token works afterwards, another session does', async () => {
    const user = await signUpAndLogIn();
    const other = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    const position = `/api/v1/queue/${SHOW}/position`;
    expectProblem(await call(gateway, 'GET', position, { token: user.accessToken }), 404, 'not-in-queue');

    const logout = await call(gateway, 'POST', '/api/v1/auth/logout', {
      token: user.accessToken,
      body: { refreshToken: user.refreshToken },
    });
    expect(logout.status).toBe(204);
    expectProblem(
      await call(gateway, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }),
      401,
    );
    const reused = await call(gateway, 'GET', position, { token: user.accessToken });
    expectProblem(reused, 401);
    expect(reused.body).toMatchObject({ detail: 'the token was signed out' });
    // The session of the other login is not affected.
    expectProblem(
      await call(gateway, 'GET', position, { token: other.body.accessToken }),
      404,
      'not-in-queue',
    );
  });

  it('rate-limits a user beyond their budget (429 + Retry-After)', async () => {
    const token = await mintAccessToken(key, { userId: randomUUID() });
    const responses = await Promise.all(
      Array.from({ length: 150 }, () => call(gateway, 'GET', `/api/v1/queue/${SHOW}/position`, { token })),
    );
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectProblem(limited[0]!, 429, 'rate-limited');
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(responses.filter((r) => r.status >= 500)).toEqual([]);
  });

  it('serves one OpenAPI document for the public API, and its docs page', async () => {
    const document = await call<{ paths: Record<string, Record<string, { security?: unknown }>> }>(
      gateway,
      'GET',
      '/api/openapi.json',
    );
    expect(document.status).toBe(200);
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/queue/{showId}/join', '/.well-known/jwks.json']),
    );
    expect(document.body.paths['/api/v1/queue/{showId}/join']?.post?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(document.body.paths).some((p) => p.includes('dapr') || p.includes('healthz'))).toBe(
      false,
    );
    const docs = await call(gateway, 'GET', '/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger/i);
  });

  it('answers CORS preflights', async () => {
    const response = await fetch(`${gateway}/api/v1/auth/login`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });
  it('starts a new trace at the gateway whatever the client sends, links the client context, and carries it through the sidecars to the queue', async () => {
    const clientTraceId = randomUUID().replaceAll('-', '');
    const clientSpanId = randomUUID().replaceAll('-', '').slice(0, 16);
    const token = await mintAccessToken(key, { userId: randomUUID() });
    // A sampled flag of 00: the client asks for no trace at all.
    const joined = await call(gateway, 'POST', `/api/v1/queue/${SHOW}/join`, {
      token,
      headers: { traceparent: `00-${clientTraceId}-${clientSpanId}-00` },
    });
    expect(joined.status).toBe(200);

    interface JaegerSpan {
      traceID: string;
      spanID: string;
      operationName: string;
      processID: string;
      references: { refType: string; traceID: string; spanID: string }[];
      tags: { key: string; value: unknown }[];
    }
    interface JaegerTrace {
      traceID: string;
      spans: JaegerSpan[];
      processes: Record<string, { serviceName: string }>;
    }
    const spanOf = (trace: JaegerTrace, service: string, kind: 'server' | 'client', parent?: string) =>
      trace.spans.find(
        (span) =>
          trace.processes[span.processID]?.serviceName === service &&
          span.operationName.startsWith('POST') &&
          span.tags.some((tag) => tag.key === 'span.kind' && tag.value === kind) &&
          (parent === undefined ||
            span.references.some((ref) => ref.refType === 'CHILD_OF' && ref.spanID === parent)),
      );
    const linksClient = (span: JaegerSpan | undefined) =>
      span?.references.some((ref) => ref.traceID === clientTraceId && ref.spanID === clientSpanId) === true;
    const operation = encodeURIComponent('POST /api/v1/queue/{showId}/join');
    const trace = await vi.waitFor(
      async () => {
        const response = await fetch(
          `${infra.jaeger.uiUrl}/api/traces?service=gateway&operation=${operation}&lookback=1h&limit=100`,
        );
        expect(response.status).toBe(200);
        const traces = ((await response.json()) as { data: JaegerTrace[] }).data;
        const linked = traces.find(
          (found) => linksClient(spanOf(found, 'gateway', 'server')) && spanOf(found, 'queue', 'server'),
        );
        expect(linked, 'a trace linking the client context').toBeDefined();
        return linked!;
      },
      { timeout: 30_000, interval: 500 },
    );
    // The gateway's request span is a root of a trace of its own (sampled, although the client said
    // 00) with the client's context as a link; its call to the sidecar is a child of it, and the
    // queue's request span belongs to the same trace, past both sidecars.
    expect(trace.traceID).not.toBe(clientTraceId);
    const received = spanOf(trace, 'gateway', 'server')!;
    expect(received.references.filter((ref) => ref.refType === 'CHILD_OF')).toEqual([]);
    expect(received.operationName).toBe('POST /api/v1/queue/{showId}/join');
    expect(spanOf(trace, 'gateway', 'client', received.spanID)).toBeDefined();
    expect(spanOf(trace, 'queue', 'server')!.operationName).toBe('POST /v1/queue/:showId/join');
    expect((await fetch(`${infra.jaeger.uiUrl}/api/traces/${clientTraceId}`)).status).toBe(404);
  });
});

// The account service against real Postgres and a real sidecar: generated signing keys shared by
// replicas and rotated once, retired keys published until their tokens expire; concurrent use of one
// refresh token (only one wins, the family dies); and the failed-login throttle in Dapr state.
import { fileURLToPath } from 'node:url';
import { deliveredBy, type StartedApps, startApps } from '@reservex/local';
import { withMigratedDatabase } from '@reservex/platform/testing';
import { hc } from 'hono/client';
import { afterAll, beforeAll, describe, expect, inject, vi } from 'vitest';
import type { createAccountApp } from './app.ts';
import * as schema from './db/schema.ts';
import { signingKeys } from './db/schema.ts';
import { createKeySealer, isSealed } from './keys/key-encryption.ts';
import { generatedKeySource } from './keys/signing-keys.ts';

const infra = inject('infra');
type AccountApp = ReturnType<typeof createAccountApp>;
const it = withMigratedDatabase({
  name: 'account_keys',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
});

describe('generated signing keys', () => {
  it('replicas starting together create one key; a rotation keeps the old key published for a token lifetime', async ({
    database,
  }) => {
    const options = {
      sealer: createKeySealer('account-int-test-key-encryption-secret-0123'),
      accessTokenTtlSeconds: 2,
      rotationIntervalMs: 1500,
      refreshIntervalMs: 100,
      clockSkewSeconds: 0,
    };
    const [a, b] = await Promise.all([
      generatedKeySource(database.db, options),
      generatedKeySource(database.db, options),
    ]);
    try {
      const first = await a.signingKey();
      expect((await b.signingKey()).kid).toBe(first.kid);
      const stored = await database.db.select().from(signingKeys);
      expect(stored).toHaveLength(1);
      // At rest the private key is sealed: the row holds no JWK member of it.
      expect(isSealed(stored[0]!.privateJwk)).toBe(true);
      expect(stored[0]!.privateJwk).not.toHaveProperty('d');

      const nextA = await vi.waitFor(
        async () => {
          const key = await a.signingKey();
          expect(key.kid).not.toBe(first.kid);
          return key;
        },
        { timeout: 10_000, interval: 100 },
      );
      const nextB = await b.signingKey();
      expect(nextB.kid).toBe(nextA.kid);
      expect((await a.jwks()).keys.map((key) => key.kid).sort()).toEqual([first.kid, nextA.kid].sort());
      expect((await a.jwks()).keys.every((key) => key.d === undefined)).toBe(true);

      // Two seconds after its retirement no token it signed is alive: it is no longer published.
      await vi.waitFor(
        async () => expect((await b.jwks()).keys.map((key) => key.kid)).not.toContain(first.kid),
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('account service', () => {
  let stack: StartedApps<'account'>;
  let url: string;

  beforeAll(async () => {
    stack = await startApps({
      infra,
      apps: [
        {
          appId: 'account',
          args: ['services/account/src/main.ts'],
          database: 'account_int',
          env: {
            LOGIN_MAX_FAILURES: '2',
            LOGIN_LOCK_BASE_MS: '2s',
            SIGNING_KEY_ENCRYPTION_KEY: 'account-int-test-key-encryption-secret-0123',
          },
        },
      ],
    });
    url = stack.apps.account.url;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** The account app over HTTP, through hono's typed client, as its sidecar would call it. */
  const account = (headers: Record<string, string> = {}) =>
    hc<AccountApp>(url, { headers: { ...deliveredBy(stack.apps.account), ...headers } });
  type Credentials = { email: string; password: string };
  const login = (credentials: Credentials, headers?: Record<string, string>) =>
    account(headers).v1.auth.login.$post({ json: credentials });
  const refresh = (refreshToken: string) => account().v1.auth.refresh.$post({ json: { refreshToken } });
  /**
   * The session a login or a refresh answered with. hono types a route's answer with a plain
   * `Response` beside the route's own body: a 200 here is the body.
   */
  async function sessionOf<R extends { status: number; json(): Promise<object> }>(
    response: R,
  ): Promise<Exclude<Awaited<ReturnType<R['json']>>, Response>> {
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toHaveProperty('refreshToken');
    return body as Exclude<Awaited<ReturnType<R['json']>>, Response>;
  }

  async function session() {
    const email = `int-${crypto.randomUUID()}@reservex.test`;
    const password = 'correct horse battery';
    expect((await account().v1.auth.signup.$post({ json: { email, password } })).status).toBe(202);
    const { refreshToken } = await sessionOf(await login({ email, password }));
    return { email, password, refreshToken };
  }

  it('lets only one of two concurrent refreshes with the same token win, and then revokes the family', async () => {
    const { refreshToken } = await session();
    const results = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.status === 200)!;
    expect((await refresh((await sessionOf(winner)).refreshToken)).status).toBe(401);
  });

  it('throttles per email and client address, and lets the lock run out', async () => {
    const { email, password } = await session();
    const from = { 'x-forwarded-for': '203.0.113.9' };
    expect((await login({ email, password: 'wrong one' }, from)).status).toBe(401);
    const locked = await login({ email, password: 'wrong two' }, from);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('2');
    expect((await login({ email, password }, from)).status).toBe(429);
    // Another address is not locked out by this one.
    expect((await login({ email, password }, { 'x-forwarded-for': '198.51.100.4' })).status).toBe(200);
    // Waits out the lock (retry-after 2 s) rather than polling: each poll would be a login attempt
    // against the throttle under test.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await login({ email, password }, from)).status).toBe(200);
  });

  it('publishes its generated key in the JWKS', async () => {
    const jwks = await (await account()['.well-known']['jwks.json'].$get()).json();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    expect(jwks.keys[0]).toMatchObject({ alg: 'EdDSA', crv: 'Ed25519' });
  });
});

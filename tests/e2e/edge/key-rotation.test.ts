// Signing-key rotation seen from outside: account generates and rotates its own keys (no
// JWT_SIGNING_KEYS), the gateway learns a new key on first sight of its kid, and a token signed with
// the retired key keeps working until it expires, because the JWKS still publishes that key.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import { type StartedApps, services, startApps } from '@reservex/local';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { serviceApp } from '../../../local/src/services.ts';
import { call, edgeApp, expectProblem, newSigningKey } from './support.ts';

const infra = inject('infra');
const ROTATION_MS = 4000;

describe('edge: signing-key rotation', () => {
  let stack: StartedApps<AppId>;
  let gateway: string;

  beforeAll(async () => {
    const options = { signingKey: await newSigningKey() };
    stack = await startApps({
      infra,
      apps: [
        // Generated keys in its own database, rotated every few seconds.
        serviceApp(services.account, {
          SIGNING_KEY_ROTATION_INTERVAL_MS: `${ROTATION_MS}ms`,
          SIGNING_KEY_REFRESH_INTERVAL_MS: '250ms',
          ACCESS_TOKEN_TTL_SECONDS: '60',
        }),
        edgeApp('gateway', { ...options, env: { gateway: { JWKS_REFETCH_COOLDOWN_MS: '500ms' } } }),
        edgeApp('queue', options),
      ],
    });
    gateway = stack.apps.gateway.url;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('accepts tokens of the new key at once and of the retired key until they expire', async () => {
    const email = `rotation-${randomUUID()}@reservex.test`;
    const password = 'correct horse battery';
    expect((await call(gateway, 'POST', '/api/v1/auth/signup', { body: { email, password } })).status).toBe(
      202,
    );
    const login = async () => {
      const response = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password } });
      expect(response.status, response.text).toBe(200);
      return response.body.accessToken as string;
    };
    // An authenticated call that reaches the queue: 404 (not in the room) means the token was accepted.
    const accepted = async (token: string) => {
      const response = await call(gateway, 'GET', `/api/v1/queue/${randomUUID()}/position`, { token });
      expectProblem(response, 404, 'not-in-queue');
    };

    const before = await login();
    await accepted(before);
    const oldKid = decodeProtectedHeader(before).kid;

    // Signed in again once the key has rotated: the new token names a new key.
    const after = await vi.waitFor(
      async () => {
        const token = await login();
        expect(decodeProtectedHeader(token).kid).not.toBe(oldKid);
        return token;
      },
      { timeout: ROTATION_MS + 15_000, interval: 250 },
    );
    const newKid = decodeProtectedHeader(after).kid;

    await accepted(after);
    await accepted(before);
    const jwks = await call<{ keys: { kid: string }[] }>(gateway, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
  });
});

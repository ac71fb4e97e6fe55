// The gateway on a real Dapr hop and a real Redis: what reaches a service (trusted identity, never
// the client's forged headers or credentials, the caller's trace), the upstream timeout (504), an
// absent service (502), and the per-address limit (429), each as problem+json.
import { randomUUID } from 'node:crypto';
import { type StartedApps, startApps } from '@reservex/local';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const infra = inject('infra');
type Ids = 'gateway' | 'inventory' | 'account';

describe('gateway', () => {
  let stack: StartedApps<Ids>;
  let gateway: string;
  let token: (roles?: string[]) => Promise<string>;

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `gw-${randomUUID()}`;
    const userId = randomUUID();
    token = (roles = ['USER']) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(userId)
        .setIssuer('reservex-account')
        .setAudience('reservex')
        .setIssuedAt()
        .setExpirationTime('10m')
        .setJti(randomUUID())
        .sign(privateKey);
    stack = await startApps({
      infra,
      apps: [
        {
          appId: 'gateway',
          args: ['services/gateway/src/main.ts'],
          redis: true,
          env: {
            UPSTREAM_TIMEOUT_MS: '1s',
            RATE_LIMIT_ADDRESS_PER_SECOND: '5',
            RATE_LIMIT_ADDRESS_BURST: '40',
          },
        },
        { appId: 'inventory', args: ['services/gateway/src/testing/echo-upstream.ts'] },
        {
          appId: 'account',
          args: ['services/account/src/main.ts'],
          database: 'account_gateway_int',
          env: { JWT_SIGNING_KEYS: JSON.stringify([{ ...(await exportJWK(privateKey)), kid }]) },
        },
      ],
    });
    gateway = stack.apps.gateway.url;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("forwards through Dapr with the trusted identity and the gateway's own trace, and nothing the client forged", async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const response = await fetch(`${gateway}/api/v1/shows/${randomUUID()}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${await token(['USER', 'ADMIN'])}`,
        'content-type': 'application/json',
        'x-user-id': 'someone-else',
        'x-user-roles': 'ADMIN',
        'dapr-app-id': 'payment',
        'x-forwarded-for': '6.6.6.6',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ title: 'x' }),
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as {
      method: string;
      path: string;
      headers: Record<string, string>;
    };
    expect(echoed.method).toBe('PATCH');
    expect(echoed.path).toMatch(/^\/v1\/shows\//);
    expect(echoed.headers['x-user-id']).not.toBe('someone-else');
    expect(echoed.headers['x-user-roles']).toBe('USER,ADMIN');
    expect(echoed.headers.authorization).toBeUndefined();
    // The sidecar appends its own hop; the first entry is the client as the gateway saw it.
    expect(echoed.headers['x-forwarded-for']?.split(',')[0]).toBe('127.0.0.1');
    expect(echoed.headers['x-forwarded-for']).not.toContain('6.6.6.6');
    expect(echoed.headers['dapr-app-id']).not.toBe('payment');
    // The gateway starts the trace: the client's context is a link of its span, never the parent.
    expect(echoed.headers.traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-01$/);
    expect(echoed.headers.traceparent).not.toContain(traceId);
  });

  it('answers 504 problem+json when the service is too slow', async () => {
    const started = Date.now();
    const response = await fetch(`${gateway}/api/v1/shows?delayMs=3000`);
    expect(response.status).toBe(504);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('answers 502 problem+json when the owning service is not running', async () => {
    const response = await fetch(`${gateway}/api/v1/payments/${randomUUID()}`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('limits one address (429 + Retry-After) and never fails instead', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 80 }, async () => {
        const response = await fetch(`${gateway}/api/v1/shows`);
        await response.arrayBuffer();
        return { status: response.status, retryAfter: response.headers.get('retry-after') };
      }),
    );
    const limited = statuses.filter((s) => s.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(30);
    expect(statuses.filter((s) => s.status === 200).length).toBeGreaterThanOrEqual(35);
    expect(Number(limited[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
  });
});

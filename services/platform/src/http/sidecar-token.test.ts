import { describe, expect, it } from 'vitest';
import { createApp } from './app.ts';
import { DAPR_API_TOKEN_HEADER, fromSidecarOnly } from './sidecar-token.ts';

const token = 'sidecar-token-of-forty-characters-123456';

function appWithToken() {
  const app = createApp({ serviceName: 'token-test', appApiToken: token });
  app.post('/dapr/events/x', (c) => c.json({ status: 'SUCCESS' }));
  app.get('/v1/things', (c) => c.json({ items: [] }));
  return app;
}

describe('app API token', () => {
  it('answers a request carrying the token its sidecar sends', async () => {
    const response = await appWithToken().request('/v1/things', {
      headers: { [DAPR_API_TOKEN_HEADER]: token },
    });
    expect(response.status).toBe(200);
  });

  it('refuses with 401 problem+json a request without the token, or with another one, deliveries included', async () => {
    for (const [path, init] of [
      ['/v1/things', {}],
      ['/v1/things', { headers: { [DAPR_API_TOKEN_HEADER]: `${token}x` } }],
      ['/dapr/events/x', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }],
    ] as const) {
      const response = await appWithToken().request(path, init);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ type: 'https://reservex.dev/problems/unauthorized' });
    }
  });

  it('lets the probes through without a token: daprd’s health check and the kubelet carry none', async () => {
    expect((await appWithToken().request('/healthz')).status).toBe(200);
    expect((await appWithToken().request('/readyz')).status).toBe(200);
    expect((await appWithToken().request('/openapi.json')).status).toBe(401);
  });

  it('refuses to start with a short token', () => {
    expect(() => fromSidecarOnly({ token: 'short' })).toThrow(/at least 32/);
  });
});

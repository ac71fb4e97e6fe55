import { describe, expect, it } from 'vitest';
import { createApp } from './app.ts';
import { callerOf } from './caller.ts';

function appAnsweringCaller() {
  const app = createApp({ serviceName: 'caller-test' });
  app.get('/me', (c) => {
    const caller = callerOf(c);
    return c.json({ userId: caller.userId, roles: [...caller.roles] });
  });
  return app;
}

describe('callerOf', () => {
  it('reads the user and normalised roles from the headers the gateway sets', async () => {
    const response = await appAnsweringCaller().request('/me', {
      headers: { 'x-user-id': ' u-1 ', 'x-user-roles': 'user, admin,,' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: 'u-1', roles: ['USER', 'ADMIN'] });
  });

  it('answers 401 problem+json when no user was set', async () => {
    const response = await appAnsweringCaller().request('/me');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'https://reservex.dev/problems/unauthorized' });
  });

  it('answers 403 when another app than the gateway invoked the user route (its sidecar says so)', async () => {
    const headers = { 'x-user-id': 'u-1', 'x-user-roles': 'ADMIN' };
    const viaQuery = await appAnsweringCaller().request('/me', {
      headers: { ...headers, 'dapr-caller-app-id': 'query' },
    });
    expect(viaQuery.status).toBe(403);
    const viaGateway = await appAnsweringCaller().request('/me', {
      headers: { ...headers, 'dapr-caller-app-id': 'gateway' },
    });
    expect(viaGateway.status).toBe(200);
  });
});

import { streamingApps } from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { createRouter, publicRoutes, upstreamPathOf } from './routes.ts';

const match = createRouter();

describe('public routes', () => {
  it('routes a public path to its owning service without the /api prefix', () => {
    const found = match('GET', '/api/v1/shows/abc');
    expect(found).toMatchObject({
      kind: 'found',
      route: { app: 'inventory', access: 'public' },
      params: { showId: 'abc' },
      upstreamPath: '/v1/shows/abc',
    });
  });

  it('keeps the JWKS path as it is', () => {
    expect(match('GET', '/.well-known/jwks.json')).toMatchObject({
      kind: 'found',
      upstreamPath: '/.well-known/jwks.json',
    });
  });

  it('needs a user for queue and reservation routes, an admin for catalogue changes', () => {
    expect(match('POST', '/api/v1/queue/s1/join')).toMatchObject({ route: { app: 'queue', access: 'user' } });
    expect(match('POST', '/api/v1/reservations')).toMatchObject({
      route: { app: 'reservation', access: 'user' },
    });
    expect(match('GET', '/api/v1/reservations')).toMatchObject({ route: { app: 'query', access: 'user' } });
    expect(match('POST', '/api/v1/shows')).toMatchObject({ route: { access: 'admin' } });
    expect(match('GET', '/api/v1/admin/dead-letters')).toMatchObject({ route: { access: 'admin' } });
  });

  it('marks the event streams, served only by the services whose sidecar policy allows long calls', () => {
    expect(match('GET', '/api/v1/queue/s1/events')).toMatchObject({ route: { stream: true } });
    const streaming = new Set(publicRoutes.filter((r) => r.stream).map((r) => r.app));
    expect([...streaming].sort()).toEqual([...streamingApps].sort());
  });

  it('answers method-not-allowed with the allowed methods', () => {
    expect(match('DELETE', '/api/v1/shows/abc')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'PATCH'],
    });
  });

  it('treats HEAD as GET', () => {
    expect(match('HEAD', '/api/v1/shows')).toMatchObject({ kind: 'found' });
  });

  it.each([
    '/api/v1/unknown',
    '/api/v1/shows/',
    '/api/v1//shows',
    '/api/v1/shows/../admin/dead-letters',
    '/api/v1/shows/./x',
    '/dapr/subscribe',
    '/v1/shows',
    'api/v1/shows',
    `/api/v1/shows/${'x'.repeat(201)}`,
  ])('does not expose %s', (path) => {
    expect(match('GET', path)).toEqual({ kind: 'not-found' });
  });

  it('has one owner per method and path', () => {
    const keys = publicRoutes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('strips only a leading /api', () => {
    expect(upstreamPathOf('/api/v1/x')).toBe('/v1/x');
    expect(upstreamPathOf('/apix/v1')).toBe('/apix/v1');
  });
});

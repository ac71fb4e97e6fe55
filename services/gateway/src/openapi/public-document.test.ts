import { describe, expect, it } from 'vitest';
import type { PublicRoute } from '../domain/routes.ts';
import { mergePublicDocument, type OpenApiDocument } from './public-document.ts';

const routes: PublicRoute[] = [
  { method: 'GET', path: '/api/v1/shows/{showId}', app: 'inventory', access: 'public' },
  { method: 'POST', path: '/api/v1/shows', app: 'inventory', access: 'admin' },
  { method: 'POST', path: '/api/v1/queue/{showId}/join', app: 'queue', access: 'user' },
];

const inventory: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 'inventory', version: '1' },
  paths: {
    '/v1/shows/{id}': {
      get: {
        summary: 'A show',
        parameters: [{ name: 'id', in: 'path', required: true }],
        responses: { '200': { description: 'The show' } },
      },
    },
    '/v1/shows': { post: { summary: 'Create a show', responses: { '201': { description: 'Created' } } } },
    '/healthz': { get: { responses: {} } },
    '/dapr/events/reservation.created': { post: { responses: {} } },
  },
  components: { schemas: { Show: { type: 'object' } } },
};

describe('mergePublicDocument', () => {
  const merged = mergePublicDocument(routes, { inventory }, { title: 'ReserveX', version: '1' });

  it('lists exactly the public routes under their public paths', () => {
    expect(Object.keys(merged.paths).sort()).toEqual([
      '/api/v1/queue/{showId}/join',
      '/api/v1/shows',
      '/api/v1/shows/{showId}',
    ]);
  });

  it("takes the service's operation, renaming path parameters to the public names", () => {
    const get = merged.paths['/api/v1/shows/{showId}']!.get!;
    expect(get.summary).toBe('A show');
    expect(get.parameters).toEqual([{ name: 'showId', in: 'path', required: true }]);
    expect(get.security).toBeUndefined();
    expect(merged.components?.schemas?.Show).toEqual({ type: 'object' });
  });

  it('adds the bearer requirement and the gateway refusals', () => {
    const post = merged.paths['/api/v1/shows']!.post!;
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(post.responses as object).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '429',
      '502',
      '504',
    ]);
  });

  it('keeps a placeholder for a service that is down and says so', () => {
    expect(merged.paths['/api/v1/queue/{showId}/join']!.post!.description).toMatch(/queue/);
    expect(merged.info['x-unavailable-services']).toEqual(['queue']);
  });
});

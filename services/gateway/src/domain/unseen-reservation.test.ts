import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.ts';
import type { UpstreamRequest } from '../proxy/forward.ts';
import { detailsOfUnseen } from './unseen-reservation.ts';

const id = '3f0c8a52-6a3e-4d4b-9a55-0f7b9e2d1c11';
const ownersView = {
  id,
  userId: 'u1',
  showId: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10',
  ticketTypeId: '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a',
  quantity: 2,
  createdAt: '2026-11-30T10:00:00.000Z',
  holdExpiresAt: '2026-11-30T10:10:00.000Z',
  status: 'PENDING',
  reason: null,
  failedStep: null,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  transitions: [
    {
      seq: 1,
      status: 'PENDING',
      reason: null,
      failedStep: null,
      detail: null,
      cause: null,
      at: '2026-11-30T10:00:00.000Z',
    },
  ],
};

describe('detailsOfUnseen', () => {
  it('answers the owner’s view in the read model’s shape, status as the owner knows it, no timeline yet', () => {
    expect(detailsOfUnseen(ownersView)).toMatchObject({
      reservationId: id,
      status: 'PENDING',
      userId: 'u1',
      quantity: 2,
      traceId: ownersView.traceId,
      failure: null,
      updatedAt: '2026-11-30T10:00:00.000Z',
      timeline: [],
    });
  });

  it('carries why a reservation was cancelled', () => {
    const cancelled = {
      ...ownersView,
      status: 'CANCELLED',
      reason: 'PAYMENT_DECLINED',
      failedStep: 'payment',
      transitions: [
        ...ownersView.transitions,
        {
          ...ownersView.transitions[0],
          seq: 2,
          status: 'CANCELLED',
          detail: 'declined',
          at: '2026-11-30T10:00:01.000Z',
        },
      ],
    };
    expect(detailsOfUnseen(cancelled)).toMatchObject({
      status: 'CANCELLED',
      failure: { reason: 'PAYMENT_DECLINED', step: 'payment', detail: 'declined' },
      updatedAt: '2026-11-30T10:00:01.000Z',
    });
  });

  it('is nothing for a body that is not a reservation', () => {
    expect(detailsOfUnseen({ type: 'about:blank' })).toBeUndefined();
    expect(detailsOfUnseen(undefined)).toBeUndefined();
  });
});

describe('the gateway for a reservation the read model has not seen', () => {
  const notFound = () =>
    Response.json(
      { type: 'not-found', status: 404 },
      { status: 404, headers: { 'content-type': 'application/problem+json' } },
    );

  function gateway(owner: (request: UpstreamRequest) => Response) {
    const calls: { app: string; path: string; user: string | null }[] = [];
    const app = createGatewayApp({
      verifyToken: async () => ({ userId: 'u1', roles: ['USER'], tokenId: 't1', expiresAt: 4_000_000_000 }),
      revokedTokens: { revoke: async () => undefined, isRevoked: async () => false },
      forward: async (request) => {
        calls.push({ app: request.app, path: request.path, user: request.headers.get('x-user-id') });
        return request.app === 'query' ? notFound() : owner(request);
      },
      takeToken: async () => ({ allowed: true, remaining: 1 }),
      publicDocument: async () => ({}),
      limits: { perAddress: { ratePerSecond: 1, burst: 1 }, perUser: { ratePerSecond: 1, burst: 1 } },
      corsOrigins: ['*'],
      trustedProxyHops: 0,
    });
    const get = (path: string, token = true) =>
      app.request(path, token ? { headers: { authorization: 'Bearer t' } } : {});
    return { get, calls };
  }

  it('asks the reservation service for the caller and answers as it knows it', async () => {
    const { get, calls } = gateway(() => Response.json(ownersView));
    const response = await get(`/api/v1/reservations/${id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ reservationId: id, status: 'PENDING', timeline: [] });
    expect(calls).toEqual([
      { app: 'query', path: `/v1/reservations/${id}`, user: 'u1' },
      { app: 'reservation', path: `/v1/reservations/${id}`, user: 'u1' },
    ]);
  });

  it('keeps the 404 when the reservation service does not know it for this caller either', async () => {
    const { get } = gateway(() => notFound());
    const response = await get(`/api/v1/reservations/${id}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'not-found' });
  });

  it('asks nobody else for other routes', async () => {
    const { get, calls } = gateway(() => Response.json(ownersView));
    expect((await get('/api/v1/reservations')).status).toBe(404);
    expect(calls.map((c) => c.app)).toEqual(['query']);
  });
});

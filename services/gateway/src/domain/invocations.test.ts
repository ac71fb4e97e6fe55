// The gateway's rows of the contracts' invocation table (rendered into each service's Dapr access
// control) are exactly the public routes, as the gateway forwards them, plus what the gateway itself
// fetches: each service's OpenAPI document, the owner's view of a reservation the read model has
// not seen yet, and the shows' admission progress.
import { invocations, USER_FACING_CALLER } from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { publicRoutes, upstreamPathOf } from './routes.ts';
import { readModelFallback } from './unseen-reservation.ts';
import { admissionProgressRoute } from './waiting-position.ts';

const daprPath = (template: string) => template.replace(/\{[^}]+\}/g, '*');

describe('gateway rows of the invocation table', () => {
  const table = invocations
    .filter((row) => row.caller === USER_FACING_CALLER)
    .flatMap((row) => row.operations.map((o) => `${row.callee} ${o.method} ${o.path}`));

  it('allow every public route on the service that owns it', () => {
    for (const route of publicRoutes) {
      expect(table, `${route.method} ${route.path}`).toContain(
        `${route.app} ${route.method} ${daprPath(upstreamPathOf(route.path))}`,
      );
    }
  });

  const fallback = `${readModelFallback.owner} ${readModelFallback.method} ${daprPath(upstreamPathOf(readModelFallback.path))}`;

  it('allow the read model’s fallback on the reservation’s owner', () => {
    expect(table).toContain(fallback);
  });

  const progress = `${admissionProgressRoute.owner} ${admissionProgressRoute.method} ${daprPath(admissionProgressRoute.path)}`;

  it('allow the shows’ admission progress on the queue', () => {
    expect(table).toContain(progress);
  });

  it('allow nothing else but the services’ OpenAPI documents', () => {
    const routes = new Set(
      publicRoutes.map((r) => `${r.app} ${r.method} ${daprPath(upstreamPathOf(r.path))}`),
    );
    const extra = table.filter((entry) => !routes.has(entry) && entry !== fallback && entry !== progress);
    expect(extra.filter((e) => !e.endsWith(' GET /openapi.json'))).toEqual([]);
  });
});

import type { InvokeOptions, InvokeResponse } from '@reservex/platform/dapr';
import { describe, expect, it } from 'vitest';
import { createCatalogue } from './catalogue.ts';

const showId = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
const ticketTypeId = '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a';
const show = {
  id: showId,
  ticketTypes: [
    { id: ticketTypeId, perOrderLimit: 4, saleStartsAt: '2026-11-01T00:00:00Z', saleEndsAt: null },
  ],
};

// Inventory's answers as service invocation returns them; the invocation itself is exercised by the
// integration tests.
function inventory(answers: InvokeResponse[]) {
  const calls: string[] = [];
  const invoke = async <T>(_app: string, method: string, _options?: InvokeOptions) => {
    calls.push(method);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The last answer repeats once the others are used up.
    return (answers.length > 1 ? answers.shift() : answers[0]) as InvokeResponse<T>;
  };
  return { invoke, calls };
}

const ok = { status: 200, headers: new Headers(), body: show };

describe('catalogue', () => {
  it('finds a ticket type’s terms, or says which of show and ticket type is unknown', async () => {
    const { invoke } = inventory([ok, { status: 404, headers: new Headers(), body: {} }]);
    const catalogue = createCatalogue({ invoke, inventoryAppId: 'inventory', cacheMs: 0 });
    expect(await catalogue.lookup(showId, ticketTypeId)).toEqual({
      kind: 'found',
      terms: {
        perOrderLimit: 4,
        perUserLimit: 4,
        saleStartsAt: new Date('2026-11-01T00:00:00Z'),
        saleEndsAt: null,
      },
    });
    expect(await catalogue.lookup(showId, showId)).toEqual({ kind: 'no-show' });
  });

  it('asks inventory once for many concurrent lookups within the cache time', async () => {
    const { invoke, calls } = inventory([ok]);
    let clock = 0;
    const catalogue = createCatalogue({
      invoke,
      inventoryAppId: 'inventory',
      cacheMs: 1000,
      now: () => clock,
    });
    await Promise.all(Array.from({ length: 20 }, () => catalogue.lookup(showId, ticketTypeId)));
    expect(calls).toHaveLength(1);
    clock = 1001;
    await catalogue.lookup(showId, ticketTypeId);
    expect(calls).toHaveLength(2);
  });

  it('does not remember a failed call', async () => {
    const { invoke, calls } = inventory([{ status: 500, headers: new Headers(), body: {} }, ok]);
    const catalogue = createCatalogue({ invoke, inventoryAppId: 'inventory', cacheMs: 60_000 });
    await expect(catalogue.lookup(showId, ticketTypeId)).rejects.toThrow();
    expect((await catalogue.lookup(showId, ticketTypeId)).kind).toBe('found');
    expect(calls).toHaveLength(2);
  });
});

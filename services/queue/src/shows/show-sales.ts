// What the waiting room knows of a show: asked of inventory (its catalogue read) through Dapr
// service invocation and cached briefly, since a flash sale joins the same show thousands of times a
// second. A sale window changed by an admin reaches the room within the cache time.
import { createInvokedReadThrough } from '@reservex/platform/cache';
import type { Dapr } from '@reservex/platform/dapr';
import { z } from 'zod';
import { type ShowSale, saleOf } from '../domain/show-sale.ts';

const ShowAnswer = z.object({
  ticketTypes: z.array(z.object({ saleStartsAt: z.string(), saleEndsAt: z.string().nullable() })),
});

export type ShowSalesOptions = {
  invoke: Dapr['invoke'];
  inventoryAppId: string;
  cacheMs: number;
  /** Bound on the number of shows remembered. */
  maxEntries?: number;
  now?: () => number;
};

export function createShowSales(options: ShowSalesOptions) {
  const now = options.now ?? Date.now;
  const shows = createInvokedReadThrough({
    invoke: options.invoke,
    appId: options.inventoryAppId,
    path: (showId) => `v1/shows/${encodeURIComponent(showId)}`,
    schema: ShowAnswer,
    what: 'show',
    ttlMs: options.cacheMs,
    now,
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
  });

  return {
    async saleOf(showId: string): Promise<ShowSale> {
      return saleOf((await shows.get(showId))?.ticketTypes, now());
    },
  };
}

export type ShowSales = ReturnType<typeof createShowSales>;

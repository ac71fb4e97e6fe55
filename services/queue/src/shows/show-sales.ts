// What the waiting room knows of a show: asked of inventory (its catalogue read) through Dapr
// service invocation and cached briefly, since a flash sale joins the same show thousands of times a
// second. A sale window changed by an admin reaches the room within the cache time.
import { createReadThrough } from '@reservex/platform/cache';
import type { Dapr } from '@reservex/platform/dapr';
import { problem } from '@reservex/platform/http';
import { z } from 'zod';
import { type ShowSale, saleOf } from '../domain/show-sale.ts';

const ShowAnswer = z.object({
  ticketTypes: z.array(z.object({ saleStartsAt: z.string(), saleEndsAt: z.string().nullable() })),
});
type Answer = z.infer<typeof ShowAnswer>['ticketTypes'] | undefined;

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
  const shows = createReadThrough({
    load: fetchShow,
    ttlMs: options.cacheMs,
    now,
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
  });

  async function fetchShow(showId: string): Promise<Answer> {
    const response = await options.invoke(options.inventoryAppId, `v1/shows/${encodeURIComponent(showId)}`, {
      httpMethod: 'GET',
    });
    if (response.status === 404) return undefined;
    if (response.status !== 200) problem(503, 'upstream-failed', `inventory answered ${response.status}`);
    const parsed = ShowAnswer.safeParse(response.body);
    if (!parsed.success) problem(503, 'upstream-failed', 'inventory answered with an unexpected show');
    return parsed.data.ticketTypes;
  }

  return {
    async saleOf(showId: string): Promise<ShowSale> {
      return saleOf(await shows.get(showId), now());
    },
  };
}

export type ShowSales = ReturnType<typeof createShowSales>;

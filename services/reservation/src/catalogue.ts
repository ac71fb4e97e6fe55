// What reservation needs to know about a show's ticket types (the per-order limit, the sale window),
// asked of inventory through Dapr service invocation and cached briefly: a flash sale asks about the
// same show thousands of times a second, and a limit changed by an admin may take a few seconds to
// apply here. Inventory re-checks everything when it takes the hold.
import type { Dapr } from '@reservex/platform/dapr';
import { problem } from '@reservex/platform/http';
import { z } from 'zod';

const TicketTypeTerms = z.object({
  id: z.string(),
  perOrderLimit: z.number().int(),
  saleStartsAt: z.string(),
  saleEndsAt: z.string().nullable(),
});
const ShowTerms = z.object({ id: z.string(), ticketTypes: z.array(TicketTypeTerms) });

export type TicketTypeTerms = {
  perOrderLimit: number;
  saleStartsAt: Date;
  saleEndsAt: Date | null;
};

export type Lookup =
  | { kind: 'found'; terms: TicketTypeTerms }
  | { kind: 'no-show' }
  | { kind: 'no-ticket-type' };

export type CatalogueOptions = {
  invoke: Dapr['invoke'];
  inventoryAppId: string;
  cacheMs: number;
  /** Bound on the number of shows remembered. */
  maxEntries?: number;
  now?: () => number;
};

export function createCatalogue(options: CatalogueOptions) {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const cache = new Map<string, { until: number; show: z.infer<typeof ShowTerms> | undefined }>();

  async function show(showId: string) {
    const cached = cache.get(showId);
    if (cached && cached.until > now()) return cached.show;
    const response = await options.invoke(options.inventoryAppId, `v1/shows/${encodeURIComponent(showId)}`, {
      httpMethod: 'GET',
    });
    let found: z.infer<typeof ShowTerms> | undefined;
    if (response.status === 404) found = undefined;
    else if (response.status === 200) found = ShowTerms.parse(response.body);
    else problem(503, 'upstream-failed', `inventory answered ${response.status}`);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(showId, { until: now() + options.cacheMs, show: found });
    return found;
  }

  async function lookup(showId: string, ticketTypeId: string): Promise<Lookup> {
    const found = await show(showId);
    if (!found) return { kind: 'no-show' };
    const type = found.ticketTypes.find((t) => t.id === ticketTypeId);
    if (!type) return { kind: 'no-ticket-type' };
    return {
      kind: 'found',
      terms: {
        perOrderLimit: type.perOrderLimit,
        saleStartsAt: new Date(type.saleStartsAt),
        saleEndsAt: type.saleEndsAt === null ? null : new Date(type.saleEndsAt),
      },
    };
  }

  return { lookup };
}

export type Catalogue = ReturnType<typeof createCatalogue>;

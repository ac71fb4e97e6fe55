// What reservation needs to know about a show's ticket types (the per-order limit, the sale window),
// asked of inventory through Dapr service invocation and cached briefly: a flash sale asks about the
// same show thousands of times a second, and a limit changed by an admin may take a few seconds to
// apply here. Inventory re-checks everything when it takes the hold.
import { createInvokedReadThrough } from '@reservex/platform/cache';
import type { Dapr } from '@reservex/platform/dapr';
import { z } from 'zod';

const TicketTypeTerms = z.object({
  id: z.string(),
  perOrderLimit: z.number().int(),
  perUserLimit: z.number().int().optional(),
  saleStartsAt: z.string(),
  saleEndsAt: z.string().nullable(),
});
const ShowTerms = z.object({ id: z.string(), ticketTypes: z.array(TicketTypeTerms) });

export type TicketTypeTerms = {
  perOrderLimit: number;
  /** Tickets of this type one user may hold across orders. */
  perUserLimit: number;
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
  const shows = createInvokedReadThrough({
    invoke: options.invoke,
    appId: options.inventoryAppId,
    path: (showId) => `v1/shows/${encodeURIComponent(showId)}`,
    schema: ShowTerms,
    what: 'show',
    ttlMs: options.cacheMs,
    now,
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
  });

  async function lookup(showId: string, ticketTypeId: string): Promise<Lookup> {
    const found = await shows.get(showId);
    if (!found) return { kind: 'no-show' };
    const type = found.ticketTypes.find((t) => t.id === ticketTypeId);
    if (!type) return { kind: 'no-ticket-type' };
    return {
      kind: 'found',
      terms: {
        perOrderLimit: type.perOrderLimit,
        perUserLimit: type.perUserLimit ?? type.perOrderLimit,
        saleStartsAt: new Date(type.saleStartsAt),
        saleEndsAt: type.saleEndsAt === null ? null : new Date(type.saleEndsAt),
      },
    };
  }

  return { lookup };
}

export type Catalogue = ReturnType<typeof createCatalogue>;

// Whether a show's waiting room is open: the show exists and one of its ticket types is on sale now
// (inventory's sale windows). The room closes with the last sale window: past that instant nobody
// is admitted any more and the admitter stops visiting the show.

export type TicketTypeSale = { saleStartsAt: string; saleEndsAt: string | null };

export type ShowSale =
  | { kind: 'unknown' }
  | { kind: 'not-on-sale'; opensAtMs: number | undefined }
  /** `endsAtMs` is Infinity while a sale window has no end. */
  | { kind: 'on-sale'; endsAtMs: number };

export function saleOf(ticketTypes: readonly TicketTypeSale[] | undefined, nowMs: number): ShowSale {
  if (!ticketTypes) return { kind: 'unknown' };
  let endsAtMs: number | undefined;
  let opensAtMs: number | undefined;
  for (const type of ticketTypes) {
    const starts = Date.parse(type.saleStartsAt);
    const ends = type.saleEndsAt === null ? Number.POSITIVE_INFINITY : Date.parse(type.saleEndsAt);
    if (starts <= nowMs && nowMs < ends) endsAtMs = Math.max(endsAtMs ?? ends, ends);
    else if (starts > nowMs) opensAtMs = Math.min(opensAtMs ?? starts, starts);
  }
  return endsAtMs === undefined ? { kind: 'not-on-sale', opensAtMs } : { kind: 'on-sale', endsAtMs };
}

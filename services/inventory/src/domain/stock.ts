// The stock of one ticket type and the rules for taking from it. Pure: the database applies the
// same arithmetic atomically, these functions decide and the tests prove the invariant.
import type { StockFailureReason } from '@reservex/contracts';

/** How many tickets of a type exist and where each one is: `capacity = available + held + sold`. */
export type Stock = {
  readonly capacity: number;
  readonly available: number;
  readonly held: number;
  readonly sold: number;
};

/** What a hold request needs to know about the ticket type it names. */
export type TicketTypeOnSale = {
  readonly showId: string;
  readonly perOrderLimit: number;
  readonly saleStartsAt: Date;
  readonly saleEndsAt: Date | null;
  readonly stock: Stock;
};

export type HoldRequest = { readonly showId: string; readonly quantity: number };

export type HoldVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: StockFailureReason };

export function satisfiesInvariant(stock: Stock): boolean {
  const { capacity, available, held, sold } = stock;
  return (
    [capacity, available, held, sold].every((n) => Number.isInteger(n) && n >= 0) &&
    capacity === available + held + sold
  );
}

export function isOnSale(
  ticketType: Pick<TicketTypeOnSale, 'saleStartsAt' | 'saleEndsAt'>,
  now: Date,
): boolean {
  const t = now.getTime();
  return (
    t >= ticketType.saleStartsAt.getTime() &&
    (ticketType.saleEndsAt === null || t < ticketType.saleEndsAt.getTime())
  );
}

/**
 * Whether a hold may be attempted, checked in the order a buyer would want to hear about it. Stock is
 * checked last and only advisorily: the database's conditional update has the final word.
 */
export function judgeHold(
  ticketType: TicketTypeOnSale | undefined,
  request: HoldRequest,
  now: Date,
): HoldVerdict {
  if (ticketType === undefined || ticketType.showId !== request.showId) {
    return { ok: false, reason: 'UNKNOWN_TICKET_TYPE' };
  }
  if (!isOnSale(ticketType, now)) return { ok: false, reason: 'SALE_CLOSED' };
  if (request.quantity < 1 || request.quantity > ticketType.perOrderLimit) {
    return { ok: false, reason: 'LIMIT_EXCEEDED' };
  }
  if (ticketType.stock.available < request.quantity) return { ok: false, reason: 'SOLD_OUT' };
  return { ok: true };
}

/** Moves `quantity` from available to held, or says there is not enough. */
export function hold(stock: Stock, quantity: number): Stock | undefined {
  if (stock.available < quantity) return undefined;
  return { ...stock, available: stock.available - quantity, held: stock.held + quantity };
}

/** A held quantity becomes sold (the reservation was confirmed). */
export function sell(stock: Stock, quantity: number): Stock {
  return { ...stock, held: stock.held - quantity, sold: stock.sold + quantity };
}

/** A held quantity goes back on sale (the reservation was cancelled). */
export function release(stock: Stock, quantity: number): Stock {
  return { ...stock, held: stock.held - quantity, available: stock.available + quantity };
}

/**
 * A new capacity set by an admin: the difference goes to (or comes from) available, and the tickets
 * already held or sold can never be taken away.
 */
export function resize(stock: Stock, capacity: number): Stock | undefined {
  const available = stock.available + (capacity - stock.capacity);
  if (available < 0) return undefined;
  return { ...stock, capacity, available };
}

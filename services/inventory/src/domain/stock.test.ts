import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hold,
  isOnSale,
  judgeHold,
  release,
  resize,
  type Stock,
  satisfiesInvariant,
  sell,
  type TicketTypeOnSale,
} from './stock.ts';

const showId = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
const now = new Date('2026-11-21T10:00:00Z');
const fresh = (capacity: number): Stock => ({ capacity, available: capacity, held: 0, sold: 0 });
const onSale = (stock: Stock, overrides: Partial<TicketTypeOnSale> = {}): TicketTypeOnSale => ({
  showId,
  perOrderLimit: 4,
  saleStartsAt: new Date('2026-11-01T00:00:00Z'),
  saleEndsAt: new Date('2026-12-01T00:00:00Z'),
  stock,
  ...overrides,
});

describe('judgeHold', () => {
  it('accepts a request within the limit while on sale and in stock', () => {
    expect(judgeHold(onSale(fresh(10)), { showId, quantity: 4 }, now)).toEqual({ ok: true });
  });

  it('refuses an unknown ticket type, or one of another show', () => {
    expect(judgeHold(undefined, { showId, quantity: 1 }, now)).toEqual({
      ok: false,
      reason: 'UNKNOWN_TICKET_TYPE',
    });
    const other = onSale(fresh(10), { showId: '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a' });
    expect(judgeHold(other, { showId, quantity: 1 }, now)).toEqual({
      ok: false,
      reason: 'UNKNOWN_TICKET_TYPE',
    });
  });

  it('refuses before the sale opens and from the moment it closes', () => {
    const early = onSale(fresh(10), { saleStartsAt: new Date('2026-11-21T10:00:01Z') });
    expect(judgeHold(early, { showId, quantity: 1 }, now)).toEqual({ ok: false, reason: 'SALE_CLOSED' });
    const closed = onSale(fresh(10), { saleEndsAt: now });
    expect(judgeHold(closed, { showId, quantity: 1 }, now)).toEqual({ ok: false, reason: 'SALE_CLOSED' });
    expect(isOnSale({ saleStartsAt: now, saleEndsAt: null }, now)).toBe(true);
  });

  it('refuses more than the per-order limit', () => {
    expect(judgeHold(onSale(fresh(10)), { showId, quantity: 5 }, now)).toEqual({
      ok: false,
      reason: 'LIMIT_EXCEEDED',
    });
  });

  it('refuses more than is available', () => {
    const stock: Stock = { capacity: 10, available: 1, held: 6, sold: 3 };
    expect(judgeHold(onSale(stock), { showId, quantity: 2 }, now)).toEqual({ ok: false, reason: 'SOLD_OUT' });
  });
});

describe('stock arithmetic', () => {
  it('never holds more than is available', () => {
    expect(hold(fresh(2), 3)).toBeUndefined();
    expect(hold(fresh(2), 2)).toEqual({ capacity: 2, available: 0, held: 2, sold: 0 });
  });

  it('keeps held and sold when capacity shrinks, and refuses to shrink below them', () => {
    const stock: Stock = { capacity: 10, available: 4, held: 3, sold: 3 };
    expect(resize(stock, 6)).toEqual({ capacity: 6, available: 0, held: 3, sold: 3 });
    expect(resize(stock, 5)).toBeUndefined();
    expect(resize(stock, 12)).toEqual({ capacity: 12, available: 6, held: 3, sold: 3 });
  });

  it('detects a broken invariant', () => {
    expect(satisfiesInvariant({ capacity: 10, available: 5, held: 3, sold: 1 })).toBe(false);
    expect(satisfiesInvariant({ capacity: 1, available: -1, held: 2, sold: 0 })).toBe(false);
  });

  it('keeps capacity = available + held + sold through any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('hold' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('sell' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('release' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('resize' as const), n: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        let stock = fresh(capacity);
        for (const { kind, n } of ops) {
          switch (kind) {
            case 'hold':
              stock = hold(stock, n) ?? stock;
              break;
            case 'sell':
              if (stock.held >= n) stock = sell(stock, n);
              break;
            case 'release':
              if (stock.held >= n) stock = release(stock, n);
              break;
            case 'resize':
              stock = resize(stock, n) ?? stock;
              break;
          }
          expect(satisfiesInvariant(stock)).toBe(true);
        }
      }),
    );
  });
});

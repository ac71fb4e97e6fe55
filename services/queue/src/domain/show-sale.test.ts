import { describe, expect, it } from 'vitest';
import { saleOf } from './show-sale.ts';

const now = Date.parse('2026-12-01T12:00:00Z');
const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();

describe('saleOf', () => {
  it('an unknown show', () => {
    expect(saleOf(undefined, now)).toEqual({ kind: 'unknown' });
  });

  it('a show without ticket types is not on sale', () => {
    expect(saleOf([], now)).toEqual({ kind: 'not-on-sale', opensAtMs: undefined });
  });

  it('is on sale while one window is open, until the latest open window ends', () => {
    expect(
      saleOf(
        [
          { saleStartsAt: at(-1000), saleEndsAt: at(5000) },
          { saleStartsAt: at(-1000), saleEndsAt: at(9000) },
          { saleStartsAt: at(-9000), saleEndsAt: at(-1) },
        ],
        now,
      ),
    ).toEqual({ kind: 'on-sale', endsAtMs: now + 9000 });
  });

  it('a window without an end keeps the room open', () => {
    expect(saleOf([{ saleStartsAt: at(0), saleEndsAt: null }], now)).toEqual({
      kind: 'on-sale',
      endsAtMs: Number.POSITIVE_INFINITY,
    });
  });

  it('not yet open, or over: not on sale, with the next opening when there is one', () => {
    expect(
      saleOf(
        [
          { saleStartsAt: at(60_000), saleEndsAt: null },
          { saleStartsAt: at(30_000), saleEndsAt: at(90_000) },
          { saleStartsAt: at(-9000), saleEndsAt: at(0) },
        ],
        now,
      ),
    ).toEqual({ kind: 'not-on-sale', opensAtMs: now + 30_000 });
    expect(saleOf([{ saleStartsAt: at(-9000), saleEndsAt: at(-1) }], now)).toEqual({
      kind: 'not-on-sale',
      opensAtMs: undefined,
    });
  });
});

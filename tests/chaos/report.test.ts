import { describe, expect, it } from 'vitest';
import type { ReservationRow } from './books.ts';
import { bookingsPerSecond, flowEnds, percentiles, plotSvg, recoveryAfter } from './report.ts';

const row = (status: string, endedAt: number | null, reason: string | null = null): ReservationRow => ({
  id: `${status}-${endedAt}`,
  userId: 'u',
  ticketTypeId: 't',
  quantity: 1,
  createdAt: 0,
  status,
  reason,
  endedAt,
  transitions: [],
});

describe('chaos report', () => {
  it('percentiles by rank', () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(p).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(percentiles([]).count).toBe(0);
  });

  it('recovery is the time to the next saga that ended by the platform’s doing, not by expiry or its user', () => {
    const ends = flowEnds({
      reservations: [
        row('CONFIRMED', 5000),
        row('CANCELLED', 6000, 'EXPIRED'),
        row('CANCELLED', 6500, 'USER_CANCELLED'),
        row('CANCELLED', 9000, 'SOLD_OUT'),
        row('PENDING', null),
      ],
    });
    expect(ends).toEqual([5000, 9000]);
    expect(recoveryAfter(ends, 5500)).toBe(3500);
    expect(recoveryAfter(ends, 9500)).toBeNull();
  });

  it('bookings per second in bins from the opening', () => {
    const books = {
      reservations: [
        row('CONFIRMED', 1500),
        row('CONFIRMED', 1900),
        row('CONFIRMED', 4200),
        row('CANCELLED', 1600, 'SOLD_OUT'),
      ],
    };
    expect(bookingsPerSecond(books, 1000, 2, 6)).toEqual([1, 0.5, 0]);
  });

  it('plots the series with each fault that fired marked and its target named', () => {
    const svg = plotSvg(
      {
        openedAt: 0,
        latency: { confirmed: percentiles([100, 200]), cancelled: percentiles([]) },
        faults: [
          { scheduled: { kind: 'kill', atS: 3, target: 'payment.daprd' }, firedAt: 3000, pid: 42 },
          {
            scheduled: { kind: 'pause', atS: 5, target: 'ticket', forS: 2 },
            firedAt: 5000,
            endedAt: 7000,
            pid: 43,
          },
          { scheduled: { kind: 'kill', atS: 8, target: 'query' } },
        ],
      },
      [1, 2, 3, 4, 5],
      2,
    );
    expect(svg).toMatch(/^<svg [^>]*role="img"/);
    expect(svg).toContain('<title id="title">');
    expect(svg).toContain('payment.daprd');
    expect(svg).toContain('kill payment.daprd pid 42 at 3.0 s');
    expect(svg).toContain('pause ticket pid 43');
    expect(svg).not.toContain('>query<');
    expect(svg).toContain('<polyline');
  });
});

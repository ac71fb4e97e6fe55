import { describe, expect, it } from 'vitest';
import { confirmedPerSecond, duration, median, medianRound, percentile, ratio, times } from './figures.ts';

describe('the figures of the chain stage', () => {
  it('takes percentiles by nearest rank', () => {
    const sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(100);
    expect(percentile(sorted, 1)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });

  it('takes the median of the finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5, 7, 6])).toBe(6);
    expect(median([])).toBeNaN();
  });

  it('divides only what can be divided', () => {
    expect(ratio(6, 24)).toBe(0.25);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 2)).toBeNaN();
    expect(times(0.2512)).toBe('×0.25');
    expect(times(Number.NaN)).toBe('n/a');
  });

  it('counts confirmed bookings per second from the first request to the last confirmation', () => {
    expect(confirmedPerSecond(1000, [1500, 2000, 5000])).toBe(0.75);
    expect(confirmedPerSecond(0, [])).toBeNaN();
  });

  it('writes durations in ms below ten seconds, in seconds above', () => {
    expect(duration(840.4)).toBe('840 ms');
    expect(duration(12_345)).toBe('12.3 s');
    expect(duration(Number.NaN)).toBe('n/a');
  });

  it('picks the median round', () => {
    const rounds = [{ v: 9 }, { v: 3 }, { v: Number.NaN }, { v: 5 }];
    expect(medianRound(rounds, (r) => r.v)).toEqual({ v: 5 });
    expect(medianRound([{ v: 1 }, { v: 2 }], (r) => r.v)).toEqual({ v: 1 });
    expect(medianRound([], () => 1)).toBeUndefined();
  });
});

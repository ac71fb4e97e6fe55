import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { available, burstFor, refill, spend, startBudget } from './admission-rate.ts';

describe('admission budget', () => {
  it('starts empty and fills at the rate', () => {
    let budget = startBudget(0);
    expect(available(budget)).toBe(0);
    budget = refill(budget, 250, 20, burstFor(20, 250));
    expect(available(budget)).toBe(5);
  });

  it('allows fractional rates over time', () => {
    let budget = startBudget(0);
    budget = refill(budget, 1000, 0.5, burstFor(0.5, 250));
    expect(available(budget)).toBe(0);
    budget = refill(budget, 2000, 0.5, burstFor(0.5, 250));
    expect(available(budget)).toBe(1);
  });

  it('never admits more than rate × time + burst, however the ticks fall', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 100 }),
        (rate, gaps) => {
          const burst = burstFor(rate, 250);
          let now = 0;
          let budget = startBudget(now);
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            budget = refill(budget, now, rate, burst);
            const n = available(budget);
            admitted += n;
            budget = spend(budget, n);
          }
          expect(admitted).toBeLessThanOrEqual((rate * now) / 1000 + burst + 1e-6);
        },
      ),
    );
  });
});

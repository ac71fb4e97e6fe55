import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gate, defaultThrottlePolicy as policy, recordFailure, recordTtlSeconds } from './login-throttle.ts';

describe('login throttle', () => {
  it('lets the first failures through, then asks to wait', () => {
    let record: ReturnType<typeof recordFailure> | undefined;
    const now = 1_000_000;
    for (let i = 0; i < policy.maxFailures - 1; i++) {
      record = recordFailure(record, now, policy);
      expect(gate(record, now)).toEqual({ allowed: true });
    }
    record = recordFailure(record, now, policy);
    expect(gate(record, now)).toEqual({ allowed: false, retryAfterSeconds: policy.baseLockMs / 1000 });
    expect(gate(record, now + policy.baseLockMs)).toEqual({ allowed: true });
  });

  it('doubles the wait for each further failure, up to the cap', () => {
    let record: ReturnType<typeof recordFailure> | undefined;
    const waits: number[] = [];
    for (let i = 0; i < policy.maxFailures + 8; i++) {
      record = recordFailure(record, 0, policy);
      waits.push(record.lockedUntil);
    }
    expect(waits.slice(policy.maxFailures - 1, policy.maxFailures + 2)).toEqual([30_000, 60_000, 120_000]);
    expect(Math.max(...waits)).toBe(policy.maxLockMs);
  });

  it('starts a new window once the old one is over', () => {
    const old = { failures: 4, firstFailureAt: 0, lockedUntil: 0 };
    expect(recordFailure(old, policy.windowMs, policy)).toEqual({
      failures: 1,
      firstFailureAt: policy.windowMs,
      lockedUntil: 0,
    });
  });

  it('never locks for longer than the cap and keeps the record while it matters', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 50 }), (gaps) => {
        let now = 0;
        let record: ReturnType<typeof recordFailure> | undefined;
        for (const gap of gaps) {
          now += gap;
          record = recordFailure(record, now, policy);
          expect(record.lockedUntil - now).toBeLessThanOrEqual(policy.maxLockMs);
          const verdict = gate(record, now);
          if (!verdict.allowed) {
            expect(recordTtlSeconds(record, now, policy)).toBeGreaterThanOrEqual(verdict.retryAfterSeconds);
          }
        }
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { acquired, admitDeadline, follower, nextAction, validPolicy } from './leadership.ts';

const policy = { leaseMs: 10_000, renewBeforeMs: 3000, safetyMs: 1000 };

describe('leadership', () => {
  it('a follower tries to acquire', () => {
    expect(nextAction(follower(), 0, policy)).toBe('try-acquire');
  });

  it('a leader admits until it is time to renew', () => {
    const leader = acquired(1000, policy, follower());
    expect(nextAction(leader, 1000, policy)).toBe('admit');
    expect(nextAction(leader, 7999, policy)).toBe('admit');
    expect(nextAction(leader, 8000, policy)).toBe('renew');
  });

  it('stops admitting before the lease ends, measured from before the lock was asked for', () => {
    const leader = acquired(1000, policy, follower());
    expect(admitDeadline(leader, policy)).toBe(10_000);
    expect(admitDeadline(follower(), policy)).toBe(0);
  });

  it('keeps its start across renewals', () => {
    const first = acquired(1000, policy, follower());
    const renewed = acquired(8000, policy, first);
    expect(renewed).toEqual({ role: 'leader', since: 1000, leaseEndsAt: 18_000 });
  });

  it('checks the policy is coherent', () => {
    expect(validPolicy(policy)).toBe(true);
    expect(validPolicy({ leaseMs: 1000, renewBeforeMs: 2000, safetyMs: 500 })).toBe(false);
    expect(validPolicy({ leaseMs: 10_000, renewBeforeMs: 1000, safetyMs: 2000 })).toBe(false);
  });
});

// Exactly one replica admits at a time. It holds a Dapr lock that expires after `leaseMs`; Dapr locks
// cannot be extended, so the leader renews by releasing and re-acquiring shortly before expiry.
// It admits only while its lease, as measured from before it asked for the lock, has a safety
// margin left, and hands the same deadline to the admission script, which refuses work past it.
export interface LeasePolicy {
  leaseMs: number;
  /** Renew this long before the lease ends. */
  renewBeforeMs: number;
  /** Stop admitting this long before the lease ends (covers a slow tick and clock drift). */
  safetyMs: number;
}

export type Leadership = { role: 'follower' } | { role: 'leader'; since: number; leaseEndsAt: number };

export type LeaderAction = 'try-acquire' | 'renew' | 'admit';

export function follower(): Leadership {
  return { role: 'follower' };
}

/** Leadership after a successful lock call that started at `askedAt` (the lease counts from there). */
export function acquired(askedAt: number, policy: LeasePolicy, previous: Leadership): Leadership {
  return {
    role: 'leader',
    since: previous.role === 'leader' ? previous.since : askedAt,
    leaseEndsAt: askedAt + policy.leaseMs,
  };
}

export function nextAction(state: Leadership, nowMs: number, policy: LeasePolicy): LeaderAction {
  if (state.role === 'follower') return 'try-acquire';
  if (nowMs >= state.leaseEndsAt - policy.renewBeforeMs) return 'renew';
  return 'admit';
}

/** The last instant at which this leader may still admit. */
export function admitDeadline(state: Leadership, policy: LeasePolicy): number {
  return state.role === 'leader' ? state.leaseEndsAt - policy.safetyMs : 0;
}

export function validPolicy(policy: LeasePolicy): boolean {
  return (
    policy.leaseMs > policy.renewBeforeMs && policy.renewBeforeMs > policy.safetyMs && policy.safetyMs > 0
  );
}

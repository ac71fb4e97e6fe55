// Throttling of failed logins per (email, client address). Failures inside a sliding window are
// counted; from the limit on, each further attempt waits a doubling back-off, capped. A success
// clears the record. The check happens before the password is verified, so a locked pair costs
// the attacker a 429 and the server no argon2 hash.
export interface ThrottlePolicy {
  /** Failures allowed inside the window before attempts are delayed. */
  maxFailures: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
}

export const defaultThrottlePolicy: ThrottlePolicy = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
};

export interface FailureRecord {
  failures: number;
  firstFailureAt: number;
  lockedUntil: number;
}

export type LoginGate = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export function gate(record: FailureRecord | undefined, now: number): LoginGate {
  if (!record || record.lockedUntil <= now) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((record.lockedUntil - now) / 1000)) };
}

export function recordFailure(
  record: FailureRecord | undefined,
  now: number,
  policy: ThrottlePolicy,
): FailureRecord {
  const fresh = !record || now - record.firstFailureAt >= policy.windowMs;
  const failures = fresh ? 1 : record.failures + 1;
  const firstFailureAt = fresh ? now : record.firstFailureAt;
  const over = failures - policy.maxFailures;
  const lockedUntil =
    over < 0 ? 0 : now + Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(over, 20));
  return { failures, firstFailureAt, lockedUntil };
}

/** How long a record is worth keeping: until both its window and its lock are over. */
export function recordTtlSeconds(record: FailureRecord, now: number, policy: ThrottlePolicy): number {
  const until = Math.max(record.firstFailureAt + policy.windowMs, record.lockedUntil);
  return Math.max(1, Math.ceil((until - now) / 1000));
}

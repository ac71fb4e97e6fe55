// How many users one admission tick may let in: a token bucket per show, refilled at the configured
// rate, holding at most `burst`. A leader that just took over starts with an empty bucket, so a
// hand-over never lets in more than the rate allows.
export interface AdmissionBudget {
  tokens: number;
  refilledAtMs: number;
}

export function startBudget(nowMs: number): AdmissionBudget {
  return { tokens: 0, refilledAtMs: nowMs };
}

export function refill(
  budget: AdmissionBudget,
  nowMs: number,
  ratePerSecond: number,
  burst: number,
): AdmissionBudget {
  const elapsed = Math.max(0, nowMs - budget.refilledAtMs);
  return { tokens: Math.min(burst, budget.tokens + (elapsed * ratePerSecond) / 1000), refilledAtMs: nowMs };
}

/** Whole admissions the bucket allows now. */
export function available(budget: AdmissionBudget): number {
  return Math.floor(budget.tokens + 1e-9);
}

export function spend(budget: AdmissionBudget, admitted: number): AdmissionBudget {
  return { ...budget, tokens: Math.max(0, budget.tokens - admitted) };
}

/** The bucket size for a rate and tick: two ticks' worth, and at least one admission. */
export function burstFor(ratePerSecond: number, tickMs: number): number {
  return Math.max(1, (2 * ratePerSecond * tickMs) / 1000);
}

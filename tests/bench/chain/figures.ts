// The arithmetic of the chain stage's report: percentiles of one round, medians over rounds, and the
// ReserveX / chain ratios.

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The median of the finite values (mean of the middle two for an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `a / b`, NaN when either is not a finite number or b is 0. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}

/** ×0.42 style, or n/a. */
export function times(value: number, digits = 2): string {
  return Number.isFinite(value) ? `×${value.toFixed(digits)}` : 'n/a';
}

/** Milliseconds as "840 ms" or "12.3 s". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Confirmed bookings per second of a round: confirmed / time from the first request to the last
 * CONFIRMED seen (what the flash sale reports).
 */
export function confirmedPerSecond(startedAt: number, confirmedAt: readonly number[]): number {
  if (confirmedAt.length === 0) return Number.NaN;
  return confirmedAt.length / ((Math.max(...confirmedAt) - startedAt) / 1000);
}

/** The round whose value is the median one (the lower middle for an even count). */
export function medianRound<T>(rounds: readonly T[], figureOf: (round: T) => number): T | undefined {
  const sorted = rounds.filter((r) => Number.isFinite(figureOf(r))).sort((a, b) => figureOf(a) - figureOf(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

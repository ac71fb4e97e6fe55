// A read-through cache for answers another service gives: each key's answer is kept for `ttlMs`,
// concurrent reads of a key not cached share one load, a failed load is forgotten at once (the next
// read tries again), and at most `maxEntries` keys are kept (the oldest goes first).

export type ReadThroughOptions<V> = {
  load: (key: string) => Promise<V>;
  ttlMs: number;
  /** Bound on the number of keys remembered. Default 1000. */
  maxEntries?: number;
  now?: () => number;
};

export type ReadThrough<V> = { get(key: string): Promise<V> };

export function createReadThrough<V>(options: ReadThroughOptions<V>): ReadThrough<V> {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  // Promises, not answers: concurrent reads of an uncached key share one load.
  const cache = new Map<string, { until: number; answer: Promise<V> }>();
  return {
    get(key) {
      const cached = cache.get(key);
      if (cached && cached.until > now()) return cached.answer;
      if (!cached && cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      const answer = options.load(key);
      cache.set(key, { until: now() + options.ttlMs, answer });
      answer.catch(() => {
        if (cache.get(key)?.answer === answer) cache.delete(key);
      });
      return answer;
    },
  };
}

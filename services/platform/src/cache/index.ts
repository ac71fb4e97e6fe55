// A read-through cache for answers another service gives: each key's answer is kept for `ttlMs`,
// concurrent reads of a key not cached share one load, a failed load is forgotten at once (the next
// read tries again), and at most `maxEntries` keys are kept (the oldest goes first).
import type { z } from 'zod';
import type { Dapr } from '../dapr/index.ts';
import { problem } from '../http/problem.ts';

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

export type InvokedReadThroughOptions<T> = Omit<ReadThroughOptions<T | undefined>, 'load'> & {
  invoke: Dapr['invoke'];
  /** The service asked, through Dapr service invocation. */
  appId: string;
  /** Its GET route of a key, e.g. `v1/shows/<id>`. */
  path: (key: string) => string;
  /** What an answer must be; `what` names it in the problem when it is not. */
  schema: z.ZodType<T>;
  what: string;
};

/**
 * Another service's answer for a key, asked through Dapr service invocation and cached: undefined
 * when that service has no such thing (404), a 503 problem when it fails or answers something else.
 */
export function createInvokedReadThrough<T>(
  options: InvokedReadThroughOptions<T>,
): ReadThrough<T | undefined> {
  const { invoke, appId, path, schema, what, ...cache } = options;
  return createReadThrough({
    ...cache,
    async load(key) {
      const response = await invoke(appId, path(key), { httpMethod: 'GET' });
      if (response.status === 404) return undefined;
      if (response.status !== 200) problem(503, 'upstream-failed', `${appId} answered ${response.status}`);
      const parsed = schema.safeParse(response.body);
      if (!parsed.success) problem(503, 'upstream-failed', `${appId} answered with an unexpected ${what}`);
      return parsed.data;
    },
  });
}

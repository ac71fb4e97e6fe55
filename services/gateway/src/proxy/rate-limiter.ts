// Token-bucket rate limiting, one bucket per key (client address, user), decided in memory and
// accounted in Redis in batches. Every request is answered from this replica's copy of the bucket,
// so the hot path makes no call; what it spent is added to the shared bucket in Redis every
// `flushMs` in one round trip for all keys, and each copy is set back to the shared level that
// answer reports (every replica's spending, Redis' clock). The limits keep their meaning: one
// replica enforces exactly the configured rate and burst, and across replicas the shared bucket
// enforces the sustained rate: a key that spent its burst at one replica is refused by the others
// from their next flush on, a debt (down to minus one burst) holding back what several replicas
// granted together. What a key can get beyond its limit is bounded by what the other replicas
// grant it before their next flush. Dapr has no building block for this.
import type { ClientContext, Redis, Result } from 'ioredis';

const spendTokens = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local spent = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
tokens = math.max(-burst, tokens - spent)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(2 * burst * 1000 / rate) + 1000)
return tostring(tokens)
`;

export interface BucketLimit {
  /** Sustained requests per second. */
  ratePerSecond: number;
  /** Requests allowed in a burst. */
  burst: number;
}

export type LimitVerdict =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    rxSpendTokens(key: string, rate: number, burst: number, spent: number): Result<string, Context>;
  }
}

export interface RateLimiterOptions {
  prefix: string;
  onError: (error: unknown) => void;
  /** How often what was spent here is added to the shared buckets. Default 50 ms. */
  flushMs?: number;
  /** Bound on the buckets held in memory; the least recently used goes first. Default 100,000. */
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  key: string;
  limit: BucketLimit;
  tokens: number;
  /** When `tokens` was last refilled (this process' clock, ms). */
  at: number;
  /** Spent here and not yet added to the shared bucket. */
  pending: number;
}

export function createRateLimiter(redis: Redis, options: RateLimiterOptions) {
  if (!redis.rxSpendTokens) redis.defineCommand('rxSpendTokens', { numberOfKeys: 1, lua: spendTokens });
  const now = options.now ?? Date.now;
  const flushMs = options.flushMs ?? 50;
  const maxKeys = options.maxKeys ?? 100_000;
  /** In least-recently-used order: a bucket is moved to the end whenever it is used. */
  const buckets = new Map<string, Bucket>();
  /** The buckets with spends not yet added to the shared ones. */
  const owing = new Set<Bucket>();
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function refill(bucket: Bucket, at: number) {
    const { ratePerSecond, burst } = bucket.limit;
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, at - bucket.at) * ratePerSecond) / 1000);
    bucket.at = at;
  }

  function bucketOf(key: string, limit: BucketLimit): Bucket {
    const known = buckets.get(key);
    if (known) {
      buckets.delete(key);
      buckets.set(key, known);
      known.limit = limit;
      return known;
    }
    const fresh: Bucket = { key, limit, tokens: limit.burst, at: now(), pending: 0 };
    buckets.set(key, fresh);
    if (buckets.size > maxKeys) {
      // The oldest bucket with nothing left to account for goes; one still owing Redis stays.
      for (const [oldKey, old] of buckets) {
        if (old.pending === 0) {
          buckets.delete(oldKey);
          break;
        }
      }
    }
    return fresh;
  }

  /** Adds what was spent here to the shared buckets, and takes their levels back. */
  async function flush(): Promise<void> {
    if (owing.size === 0) return;
    const sent = [...owing];
    owing.clear();
    const pipeline = redis.pipeline();
    for (const bucket of sent) {
      const { ratePerSecond, burst } = bucket.limit;
      pipeline.rxSpendTokens(`${options.prefix}${bucket.key}`, ratePerSecond, burst, bucket.pending);
      bucket.pending = 0;
    }
    try {
      const replies = (await pipeline.exec()) ?? [];
      const at = now();
      sent.forEach((bucket, i) => {
        const [error, level] = replies[i] ?? [new Error('no reply')];
        if (error) {
          options.onError(error);
          return;
        }
        const shared = Number(level);
        if (!Number.isFinite(shared)) return;
        // The shared level counts what this flush sent; what was spent here since, not yet.
        bucket.tokens = shared - bucket.pending;
        bucket.at = at;
      });
    } catch (error) {
      // Redis is away: the spends are not shared (each replica still limits on its own).
      options.onError(error);
    }
  }

  function scheduleFlush() {
    if (timer || flushing) return;
    timer = setTimeout(() => {
      timer = undefined;
      flushing = flush().finally(() => {
        flushing = undefined;
        if (owing.size > 0) scheduleFlush();
      });
    }, flushMs);
    timer.unref();
  }

  /** Takes one token from `key`'s bucket, answered from memory; the spend reaches Redis within `flushMs`. */
  async function take(key: string, limit: BucketLimit): Promise<LimitVerdict> {
    const bucket = bucketOf(key, limit);
    refill(bucket, now());
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.pending += 1;
      owing.add(bucket);
      scheduleFlush();
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    const waitMs = ((1 - bucket.tokens) * 1000) / limit.ratePerSecond;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  return Object.assign(take, {
    /** The buckets held in memory. */
    size: () => buckets.size,
    /** Accounts what is still pending now (at shutdown, or in a test). */
    async flush(): Promise<void> {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      await flushing;
      await flush();
    },
  });
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

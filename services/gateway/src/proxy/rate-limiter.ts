// Token-bucket rate limiting in Redis, one bucket per key (client address, user). The bucket is
// read, refilled and spent in one Lua script, so concurrent requests across gateway replicas never
// double-spend, and Redis' clock is the only clock. Dapr has no building block for this.
import type { ClientContext, Redis, Result } from 'ioredis';

const tokenBucket = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, wait, math.floor(tokens) }
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
    rxTokenBucket(
      key: string,
      rate: number,
      burst: number,
      cost: number,
    ): Result<[number, number, number], Context>;
  }
}

export function createRateLimiter(
  redis: Redis,
  options: { prefix: string; onError: (error: unknown) => void },
) {
  if (!redis.rxTokenBucket) redis.defineCommand('rxTokenBucket', { numberOfKeys: 1, lua: tokenBucket });

  /** Takes one token from `key`'s bucket. When Redis fails the request passes (fail open) and is logged. */
  return async function take(key: string, limit: BucketLimit): Promise<LimitVerdict> {
    try {
      const [allowed, waitMs, remaining] = await redis.rxTokenBucket(
        `${options.prefix}${key}`,
        limit.ratePerSecond,
        limit.burst,
        1,
      );
      return allowed === 1
        ? { allowed: true, remaining }
        : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    } catch (error) {
      options.onError(error);
      return { allowed: true, remaining: 0 };
    }
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

// The gateway's rate limits against a real Redis: decided in memory, accounted in Redis in batches,
// shared by replicas, and still limiting when Redis is away.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type BucketLimit, createRateLimiter } from './rate-limiter.ts';

const infra = inject('infra');
const clients: Redis[] = [];
afterAll(() => {
  for (const client of clients) client.disconnect();
});

function redis(url = infra.redis.url, extra: RedisOptions = {}) {
  const client = new Redis(url, { lazyConnect: false, ...extra });
  clients.push(client);
  return client;
}

/** A limiter that only flushes when the test asks. */
function limiter(client: Redis, errors: unknown[] = []) {
  return createRateLimiter(client, {
    prefix: `rx:test:rl:${randomUUID()}:`,
    onError: (error) => errors.push(error),
    flushMs: 10_000,
  });
}

const limit: BucketLimit = { ratePerSecond: 10, burst: 5 };

async function allowedOf(take: ReturnType<typeof createRateLimiter>, key: string, count: number) {
  let allowed = 0;
  for (let i = 0; i < count; i++) if ((await take(key, limit)).allowed) allowed++;
  return allowed;
}

describe('rate limits', () => {
  it('allow a burst, then the rate, answering from memory and accounting in one batch', async () => {
    const client = redis();
    const shared = `rx:test:rl:${randomUUID()}:`;
    let clock = Date.now();
    const take = createRateLimiter(client, {
      prefix: shared,
      onError: () => {},
      flushMs: 10_000,
      now: () => clock,
    });
    expect(await allowedOf(take, 'user:a', 8)).toBe(5);
    const refused = await take('user:a', limit);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock += 100;
    expect(await allowedOf(take, 'user:a', 3)).toBe(1);
    expect(await allowedOf(take, 'user:b', 2)).toBe(2);
    // Nothing reached Redis yet; one flush adds both keys' spends.
    expect(await client.exists(`${shared}user:a`, `${shared}user:b`)).toBe(0);
    await take.flush();
    expect(Number(await client.hget(`${shared}user:a`, 'tokens'))).toBeLessThan(1);
    expect(Number(await client.hget(`${shared}user:b`, 'tokens'))).toBeCloseTo(3, 0);
  });

  it('are shared by replicas: what one spent, the other refuses from its next flush on', async () => {
    const client = redis();
    const prefix = `rx:test:rl:${randomUUID()}:`;
    const [one, two] = [0, 1].map(() =>
      createRateLimiter(client, { prefix, onError: () => {}, flushMs: 10_000 }),
    ) as [ReturnType<typeof createRateLimiter>, ReturnType<typeof createRateLimiter>];
    expect(await allowedOf(one, 'user:c', 5)).toBe(5);
    await one.flush();
    // The other replica has not seen the key: it grants one request, then learns the shared level.
    expect(await allowedOf(two, 'user:c', 1)).toBe(1);
    await two.flush();
    expect(await allowedOf(two, 'user:c', 5)).toBe(0);
    // The debt holds both back until the rate has paid it off.
    expect(await allowedOf(one, 'user:c', 1)).toBe(0);
    await one.flush();
    expect(await allowedOf(one, 'user:c', 5)).toBe(0);
  });

  it('flush by themselves within their interval', async () => {
    const client = redis();
    const prefix = `rx:test:rl:${randomUUID()}:`;
    const take = createRateLimiter(client, { prefix, onError: () => {}, flushMs: 20 });
    expect(await allowedOf(take, 'user:d', 3)).toBe(3);
    await expect.poll(() => client.hget(`${prefix}user:d`, 'tokens'), { timeout: 2000 }).not.toBeNull();
    expect(Number(await client.hget(`${prefix}user:d`, 'tokens'))).toBeCloseTo(2, 0);
  });

  it('still limit each replica when Redis is away, and say so', async () => {
    const away = redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    away.on('error', () => {});
    const errors: unknown[] = [];
    const take = limiter(away, errors);
    expect(await allowedOf(take, 'user:e', 8)).toBe(5);
    await take.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect(await allowedOf(take, 'user:e', 3)).toBe(0);
  });

  it('hold a bounded number of keys in memory, the least recently used going first', async () => {
    const take = createRateLimiter(redis(), {
      prefix: `rx:test:rl:${randomUUID()}:`,
      onError: () => {},
      flushMs: 10_000,
      maxKeys: 3,
    });
    for (const key of ['ip:1', 'ip:2', 'ip:3']) await take(key, limit);
    await take('ip:1', limit);
    await take.flush();
    await take('ip:4', limit);
    expect(take.size()).toBe(3);
    // ip:2 went: ip:1 was used after it.
    expect((await take('ip:1', limit)).allowed && (await take('ip:1', limit)).allowed).toBe(true);
    expect(await allowedOf(take, 'ip:1', 5)).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Dapr } from '../dapr/index.ts';
import { isProblemError } from '../http/problem.ts';
import { createInvokedReadThrough, createReadThrough } from './index.ts';

function counting<V>(answer: (key: string, call: number) => Promise<V>) {
  const calls: string[] = [];
  return {
    calls,
    load: (key: string) => {
      calls.push(key);
      return answer(key, calls.length);
    },
  };
}

describe('createReadThrough', () => {
  it('shares one load between concurrent reads and keeps the answer for the ttl', async () => {
    let clock = 0;
    const source = counting(async (key, call) => `${key}#${call}`);
    const cache = createReadThrough({ load: source.load, ttlMs: 1000, now: () => clock });
    expect(await Promise.all([cache.get('a'), cache.get('a')])).toEqual(['a#1', 'a#1']);
    clock = 999;
    expect(await cache.get('a')).toBe('a#1');
    clock = 1000;
    expect(await cache.get('a')).toBe('a#2');
    expect(source.calls).toEqual(['a', 'a']);
  });

  it('forgets a failed load, so the next read tries again', async () => {
    const source = counting(async (_key, call) => {
      if (call === 1) throw new Error('down');
      return 'up';
    });
    const cache = createReadThrough({ load: source.load, ttlMs: 60_000 });
    await expect(cache.get('a')).rejects.toThrow('down');
    expect(await cache.get('a')).toBe('up');
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const source = counting(async (key) => key);
    const cache = createReadThrough({ load: source.load, ttlMs: 60_000, maxEntries: 2 });
    for (const key of ['a', 'b', 'c', 'b', 'a']) await cache.get(key);
    expect(source.calls).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('createInvokedReadThrough', () => {
  // A service that answers by path as the sidecar would hand its answer on.
  const answers: Record<string, { status: number; body: unknown }> = {
    'v1/things/a': { status: 200, body: { name: 'a' } },
    'v1/things/odd': { status: 200, body: { name: 42 } },
    'v1/things/down': { status: 500, body: {} },
  };
  const asked: string[] = [];
  const invoke = (async (appId: string, path: string) => {
    asked.push(`${appId} ${path}`);
    return answers[path] ?? { status: 404, body: {} };
  }) as unknown as Dapr['invoke'];
  const things = createInvokedReadThrough({
    invoke,
    appId: 'keeper',
    path: (key) => `v1/things/${key}`,
    schema: z.object({ name: z.string() }),
    what: 'thing',
    ttlMs: 60_000,
  });
  const status = (promise: Promise<unknown>) =>
    promise.then(
      () => 'answered',
      (error: unknown) => (isProblemError(error) ? error.status : 'thrown'),
    );

  it('answers what the service has, once per ttl, and undefined for what it has not', async () => {
    expect(await things.get('a')).toEqual({ name: 'a' });
    expect(await things.get('a')).toEqual({ name: 'a' });
    expect(await things.get('none')).toBeUndefined();
    expect(asked.filter((call) => call === 'keeper v1/things/a')).toHaveLength(1);
  });

  it('is a 503 problem when the service fails or answers something else', async () => {
    expect(await status(things.get('down'))).toBe(503);
    expect(await status(things.get('odd'))).toBe(503);
  });
});

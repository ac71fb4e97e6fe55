import { describe, expect, it } from 'vitest';
import { createReadThrough } from './index.ts';

function counting<V>(answer: (key: string, call: number) => Promise<V>) {
  const calls: string[] = [];
  return { calls, load: (key: string) => (calls.push(key), answer(key, calls.length)) };
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

import { DaprError, StateConflictError } from '@reservex/platform/dapr';
import { describe, expect, it } from 'vitest';
import { createIdempotency, fingerprint } from './idempotency.ts';

/**
 * Dapr state as the Redis store keeps it: a version per key from 1; a key written first-write takes
 * a later write only with its current version as etag. Records each call.
 */
function redisLikeState() {
  const keys = new Map<string, { value: unknown; version: number; firstWrite: boolean }>();
  const calls: string[] = [];
  const conflict = (store: string, key: string) =>
    new StateConflictError(store, key, new DaprError('state.save', 'failed to set key'));
  return {
    calls,
    state: {
      async save(
        store: string,
        key: string,
        value: unknown,
        options: { etag?: string; firstWrite?: boolean; ttlSeconds?: number } = {},
      ) {
        calls.push(
          `save${options.etag ? `@${options.etag}` : ''}${options.firstWrite ? ' first-write' : ''}`,
        );
        const current = keys.get(key);
        if (current && (options.firstWrite || current.firstWrite) && options.etag !== String(current.version))
          throw conflict(store, key);
        keys.set(key, {
          value,
          version: (current?.version ?? 0) + 1,
          firstWrite: current?.firstWrite ?? Boolean(options.firstWrite),
        });
      },
      async get(_store: string, key: string) {
        calls.push('get');
        const current = keys.get(key);
        return current && { value: current.value, etag: String(current.version) };
      },
      async delete(_store: string, key: string) {
        calls.push('delete');
        keys.delete(key);
      },
    },
  };
}

describe('createIdempotency', () => {
  it('claims and completes a key in two calls, then replays the reply', async () => {
    const { state, calls } = redisLikeState();
    const idempotency = createIdempotency({
      state: state as never,
      store: 'statestore',
      ttlSeconds: 60,
    });
    const print = fingerprint({ quantity: 1 });
    expect(await idempotency.claim('user-1', 'key-1', print)).toEqual({ kind: 'claimed' });
    await idempotency.complete('user-1', 'key-1', print, { status: 201, body: { id: 'r-1' } });
    expect(calls).toEqual(['save first-write', 'save@1']);
    expect(await idempotency.claim('user-1', 'key-1', print)).toEqual({
      kind: 'replay',
      reply: { status: 201, body: { id: 'r-1' } },
    });
    expect(await idempotency.claim('user-1', 'key-1', fingerprint({ quantity: 2 }))).toEqual({
      kind: 'mismatch',
    });
  });
});

describe('fingerprint', () => {
  it('is the same for the same request whatever the member order', () => {
    expect(fingerprint({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      fingerprint({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
  });

  it('differs when any value differs', () => {
    expect(fingerprint({ quantity: 1 })).not.toBe(fingerprint({ quantity: 2 }));
    expect(fingerprint({ a: [1, 2] })).not.toBe(fingerprint({ a: [2, 1] }));
  });
});

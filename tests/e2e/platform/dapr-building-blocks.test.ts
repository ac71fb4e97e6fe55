// The platform's Dapr wrappers against a real sidecar with Redis behind it: the distributed lock
// admits exactly one contender until its lease expires; state writes with a stale etag (or a
// first-write on an existing key) fail with StateConflictError; a TTL expires the key.
import { randomUUID } from 'node:crypto';
import { type StartedApps, startApps } from '@reservex/local';
import { createDapr, type Dapr, StateConflictError } from '@reservex/platform/dapr';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { producerApp } from './support.ts';

const infra = inject('infra');
const { statestore, lockstore } = infra.dapr.components;

describe('Dapr building blocks through the platform wrappers', () => {
  let stack: StartedApps<'platform-blocks'>;
  let dapr: Dapr;

  beforeAll(async () => {
    stack = await startApps({
      infra,
      apps: [{ appId: 'platform-blocks', args: [producerApp], database: 'platform_blocks' }],
    });
    const app = stack.apps['platform-blocks'];
    // The sidecar answers only its app: the test speaks as the app, with its token.
    dapr = createDapr({ httpPort: app.daprHttpPort, apiToken: app.tokens.dapr, timeoutMs: 5000 });
    await dapr.ready();
  });
  afterAll(() => stack?.stop());

  it('two contenders for a lock: exactly one wins; once the lease expires the other gets it', async () => {
    const resource = `admitter-${randomUUID()}`;
    const results = await Promise.all([
      dapr.lock.tryLock(lockstore, resource, 'replica-a', 2),
      dapr.lock.tryLock(lockstore, resource, 'replica-b', 2),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? 'replica-a' : 'replica-b';
    const loser = winner === 'replica-a' ? 'replica-b' : 'replica-a';

    expect(await dapr.lock.tryLock(lockstore, resource, loser, 2)).toBe(false);
    expect(await dapr.lock.unlock(lockstore, resource, loser)).toBe('not-owner');

    // No unlock by the winner: the lease runs out (2 s) and the loser's bounded retries get in.
    const started = Date.now();
    expect(await dapr.lock.acquire(lockstore, resource, loser, 2, { waitMs: 6000, maxDelayMs: 250 })).toBe(
      true,
    );
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(await dapr.lock.tryLock(lockstore, resource, winner, 2)).toBe(false);
    expect(await dapr.lock.unlock(lockstore, resource, loser)).toBe('released');
    expect(await dapr.lock.unlock(lockstore, resource, loser)).toBe('not-found');
  });

  it('withLock runs the work only for the holder and releases afterwards', async () => {
    const resource = `sweeper-${randomUUID()}`;
    const held = await dapr.lock.withLock(lockstore, resource, 'a', 10, async () => {
      const contender = await dapr.lock.withLock(lockstore, resource, 'b', 10, async () => 'b ran');
      return contender;
    });
    expect(held).toEqual({ acquired: true, value: { acquired: false } });
    expect(await dapr.lock.tryLock(lockstore, resource, 'b', 10)).toBe(true);
  });

  it('a write with a stale etag fails with StateConflictError; the fresh etag succeeds', async () => {
    const key = `reply-${randomUUID()}`;
    expect(await dapr.state.get(statestore, key)).toBeUndefined();
    await dapr.state.save(statestore, key, { status: 201, n: 1 });
    const first = await dapr.state.get<{ status: number; n: number }>(statestore, key);
    expect(first?.value).toEqual({ status: 201, n: 1 });
    expect(first?.etag).toBeTruthy();

    await dapr.state.save(statestore, key, { status: 201, n: 2 }, { etag: first!.etag! });
    const second = await dapr.state.get<{ n: number }>(statestore, key);
    expect(second?.value.n).toBe(2);
    expect(second?.etag).not.toBe(first?.etag);

    const stale = dapr.state.save(statestore, key, { status: 201, n: 3 }, { etag: first!.etag! });
    await expect(stale).rejects.toBeInstanceOf(StateConflictError);
    await expect(stale).rejects.toMatchObject({ key, store: statestore, status: 409 });
    expect((await dapr.state.get<{ n: number }>(statestore, key))?.value.n).toBe(2);
  });

  it('first-write without an etag inserts once; the second writer gets StateConflictError', async () => {
    const key = `pass-${randomUUID()}`;
    await dapr.state.save(statestore, key, 'first', { firstWrite: true });
    await expect(dapr.state.save(statestore, key, 'second', { firstWrite: true })).rejects.toBeInstanceOf(
      StateConflictError,
    );
    expect((await dapr.state.get(statestore, key))?.value).toBe('first');
  });

  it('a key saved with a TTL expires', async () => {
    const key = `token-${randomUUID()}`;
    await dapr.state.save(statestore, key, { token: 'abc' }, { ttlSeconds: 1 });
    expect((await dapr.state.get(statestore, key))?.value).toEqual({ token: 'abc' });
    await expect
      .poll(() => dapr.state.get(statestore, key), { timeout: 5000, interval: 200 })
      .toBeUndefined();
  });

  it('deleting with a stale etag fails with StateConflictError', async () => {
    const key = `cache-${randomUUID()}`;
    await dapr.state.save(statestore, key, 1);
    const { etag } = (await dapr.state.get(statestore, key))!;
    await dapr.state.save(statestore, key, 2);
    await expect(dapr.state.delete(statestore, key, { etag: etag! })).rejects.toBeInstanceOf(
      StateConflictError,
    );
    const fresh = await dapr.state.get(statestore, key);
    await dapr.state.delete(statestore, key, { etag: fresh!.etag! });
    expect(await dapr.state.get(statestore, key)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { daprRevokedTokens } from './revoked-tokens.ts';

/** The state store as the gateway's sidecar serves it, counting reads. */
function memoryState() {
  const saved = new Map<string, { value: unknown; ttlSeconds: number | undefined }>();
  let reads = 0;
  return {
    saved,
    reads: () => reads,
    state: {
      async save(_store: string, key: string, value: unknown, options: { ttlSeconds?: number } = {}) {
        saved.set(key, { value, ttlSeconds: options.ttlSeconds });
      },
      async get(_store: string, key: string) {
        reads++;
        const entry = saved.get(key);
        return entry ? { value: entry.value } : undefined;
      },
    },
  };
}

const T0 = Date.parse('2026-11-30T12:00:00Z');

function setup() {
  const dapr = memoryState();
  let clock = T0;
  const options = { store: 'statestore', now: () => clock, clockToleranceSeconds: 30, freshnessMs: 1000 };
  return {
    dapr,
    // Two gateway replicas sharing one store.
    here: daprRevokedTokens(dapr as never, options),
    there: daprRevokedTokens(dapr as never, options),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const token = (tokenId: string, lifetimeSeconds = 600) => ({
  tokenId,
  expiresAt: T0 / 1000 + lifetimeSeconds,
});

describe('signed-out access tokens', () => {
  it('are kept in the store until the token would have expired (plus clock tolerance)', async () => {
    const { dapr, here } = setup();
    await here.revoke(token('t1'));
    expect(dapr.saved.get('revoked-access-token:t1')?.ttlSeconds).toBe(630);
    // The store refuses a TTL of zero: an already expired token is kept for a second.
    await here.revoke(token('t3', -100));
    expect(dapr.saved.get('revoked-access-token:t3')?.ttlSeconds).toBe(1);
  });

  it('are refused at once by the replica that signed them out, and by the others within the freshness', async () => {
    const { here, there, advance } = setup();
    expect(await there.isRevoked(token('t1'))).toBe(false);
    await here.revoke(token('t1'));
    expect(await here.isRevoked(token('t1'))).toBe(true);
    advance(1000);
    expect(await there.isRevoked(token('t1'))).toBe(true);
    expect(await there.isRevoked(token('t2'))).toBe(false);
  });

  it('cost one read for many concurrent checks of one token, and none once known signed out', async () => {
    const { dapr, here, there, advance } = setup();
    await Promise.all(Array.from({ length: 50 }, () => here.isRevoked(token('t1'))));
    expect(dapr.reads()).toBe(1);
    await here.revoke(token('t1'));
    advance(1000);
    expect(await there.isRevoked(token('t1'))).toBe(true);
    const reads = dapr.reads();
    advance(5000);
    expect(await there.isRevoked(token('t1'))).toBe(true);
    expect(dapr.reads()).toBe(reads);
  });
});

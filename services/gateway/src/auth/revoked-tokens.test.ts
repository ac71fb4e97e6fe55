import { describe, expect, it } from 'vitest';
import { daprRevokedTokens, REVOCATION_SHARDS, shardOf } from './revoked-tokens.ts';

/** The state store as the gateway's sidecar serves it, counting calls that read. */
function memoryState() {
  const saved = new Map<string, { value: unknown; ttlSeconds: number | undefined }>();
  const writes: string[] = [];
  let reads = 0;
  return {
    saved,
    writes,
    reads: () => reads,
    state: {
      async save(_store: string, key: string, value: unknown, options: { ttlSeconds?: number } = {}) {
        writes.push(key);
        saved.set(key, { value, ttlSeconds: options.ttlSeconds });
      },
      async get(_store: string, key: string) {
        reads++;
        const entry = saved.get(key);
        return entry ? { value: entry.value } : undefined;
      },
      async getMany(_store: string, keys: readonly string[]) {
        reads++;
        return new Map(
          keys.flatMap((key) => (saved.has(key) ? [[key, { value: saved.get(key)!.value }]] : [])),
        );
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
    // The shards' generations and the token's entry.
    expect(dapr.reads()).toBe(2);
    await here.revoke(token('t1'));
    advance(1000);
    expect(await there.isRevoked(token('t1'))).toBe(true);
    const reads = dapr.reads();
    advance(5000);
    expect(await there.isRevoked(token('t1'))).toBe(true);
    expect(dapr.reads()).toBe(reads);
  });

  it('cost one read per token when first seen, then one read per freshness for all of them until a sign-out', async () => {
    const { dapr, here, advance } = setup();
    const tokens = Array.from({ length: 200 }, (_, i) => token(`user-${i}`));
    for (const t of tokens) expect(await here.isRevoked(t)).toBe(false);
    expect(dapr.reads()).toBe(1 + tokens.length);
    for (let second = 0; second < 10; second++) {
      advance(1000);
      for (const t of tokens) expect(await here.isRevoked(t)).toBe(false);
    }
    expect(dapr.reads()).toBe(1 + tokens.length + 10);
  });

  it('after a sign-out elsewhere, read again only the tokens of its shard', async () => {
    const { dapr, here, there, advance } = setup();
    const tokens = Array.from({ length: 320 }, (_, i) => token(`user-${i}`));
    for (const t of tokens) await here.isRevoked(t);
    await there.revoke(tokens[7]!);
    advance(1000);
    const before = dapr.reads();
    const answers = [];
    for (const t of tokens) answers.push(await here.isRevoked(t));
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(answers[7]).toBe(true);
    const sameShard = tokens.filter((t) => shardOf(t.tokenId) === shardOf(tokens[7]!.tokenId)).length;
    expect(sameShard).toBeLessThan(tokens.length / 4);
    expect(dapr.reads() - before).toBe(1 + sameShard);
  });

  it('write the entry before the generation that sends replicas to read it', async () => {
    const { dapr, here } = setup();
    await here.revoke(token('t1'));
    expect(dapr.writes).toEqual([
      'revoked-access-token:t1',
      `revoked-access-tokens:generation:${shardOf('t1')}`,
    ]);
  });

  it('spread token ids over every shard', () => {
    const shards = new Set(Array.from({ length: 2000 }, () => shardOf(crypto.randomUUID())));
    expect(shards.size).toBe(REVOCATION_SHARDS);
  });
});

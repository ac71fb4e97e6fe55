import { describe, expect, it } from 'vitest';
import { daprRevokedTokens } from './revoked-tokens.ts';

function memoryState() {
  const saved = new Map<string, { value: unknown; ttlSeconds: number | undefined }>();
  return {
    saved,
    state: {
      async save(_store: string, key: string, value: unknown, options: { ttlSeconds?: number } = {}) {
        saved.set(key, { value, ttlSeconds: options.ttlSeconds });
      },
      async get(_store: string, key: string) {
        const entry = saved.get(key);
        return entry ? { value: entry.value } : undefined;
      },
    },
  };
}

describe('signed-out access tokens', () => {
  it('are kept until the token would have expired (plus clock tolerance), and only they are revoked', async () => {
    const dapr = memoryState();
    const now = Date.parse('2026-11-30T12:00:00Z');
    const list = daprRevokedTokens(dapr as never, {
      store: 'statestore',
      now: () => now,
      clockToleranceSeconds: 30,
    });
    await list.revoke('t1', now / 1000 + 600);
    expect(dapr.saved.get('revoked-access-token:t1')?.ttlSeconds).toBe(630);
    expect(await list.isRevoked('t1')).toBe(true);
    expect(await list.isRevoked('t2')).toBe(false);
    // An already expired token is still written, briefly: the store refuses a TTL of zero.
    await list.revoke('t3', now / 1000 - 100);
    expect(dapr.saved.get('revoked-access-token:t3')?.ttlSeconds).toBe(1);
  });
});

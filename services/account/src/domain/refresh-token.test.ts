import { describe, expect, it } from 'vitest';
import { decideRefresh, type StoredRefreshToken } from './refresh-token.ts';

const now = new Date('2026-11-21T10:00:00Z');
const token = (over: Partial<StoredRefreshToken> = {}): StoredRefreshToken => ({
  id: 't1',
  familyId: 'f1',
  userId: 'u1',
  status: 'active',
  expiresAt: new Date('2026-11-22T10:00:00Z'),
  ...over,
});

describe('decideRefresh', () => {
  it('rotates an active, unexpired token', () => {
    expect(decideRefresh(token(), now)).toEqual({ kind: 'rotate', token: token() });
  });

  it('rejects an unknown token', () => {
    expect(decideRefresh(undefined, now)).toEqual({ kind: 'reject', reason: 'unknown' });
  });

  it('rejects an expired token at its expiry instant', () => {
    expect(decideRefresh(token({ expiresAt: now }), now)).toEqual({ kind: 'reject', reason: 'expired' });
  });

  it('revokes the family when a rotated token comes back', () => {
    expect(decideRefresh(token({ status: 'rotated' }), now)).toEqual({
      kind: 'revoke-family',
      familyId: 'f1',
    });
  });

  it('rejects a revoked token without further effect', () => {
    expect(decideRefresh(token({ status: 'revoked' }), now)).toEqual({ kind: 'reject', reason: 'revoked' });
  });
});

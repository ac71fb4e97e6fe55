// Refresh-token rotation with reuse detection. Each login starts a family; every refresh retires the
// presented token and issues its successor in the same family. A retired token presented again means
// it was copied: the whole family is revoked, so the thief and the victim both have to log in again.
export type RefreshTokenStatus = 'active' | 'rotated' | 'revoked';

export interface StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  status: RefreshTokenStatus;
  expiresAt: Date;
}

export type RefreshDecision =
  | { kind: 'rotate'; token: StoredRefreshToken }
  | { kind: 'reject'; reason: 'unknown' | 'expired' | 'revoked' }
  | { kind: 'revoke-family'; familyId: string };

export function decideRefresh(token: StoredRefreshToken | undefined, now: Date): RefreshDecision {
  if (!token) return { kind: 'reject', reason: 'unknown' };
  switch (token.status) {
    case 'active':
      if (token.expiresAt.getTime() <= now.getTime()) return { kind: 'reject', reason: 'expired' };
      return { kind: 'rotate', token };
    case 'rotated':
      return { kind: 'revoke-family', familyId: token.familyId };
    case 'revoked':
      return { kind: 'reject', reason: 'revoked' };
    default: {
      const unreachable: never = token.status;
      throw new Error(`unknown refresh token status ${String(unreachable)}`);
    }
  }
}

/** The opaque token a client holds: 32 random bytes, base64url. Only its SHA-256 is stored. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

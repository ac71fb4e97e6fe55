// Signed-out access tokens. An access token is verified by its signature alone, so signing out could
// only end the refresh token; this list names the access tokens (by `jti`) that were signed out, each
// kept until the token would have expired anyway, so the list never outgrows the tokens in flight.
// It lives in the gateway's Dapr state store (Redis, with a TTL per entry), so every gateway replica
// sees a sign-out. The check sits on every authenticated request, so it stays cheap: concurrent
// checks of one token share one read, an answer is reused for `freshnessMs` (a sign-out through
// another replica takes effect here within that time; through this one, at once), and a token known
// to be signed out is never asked about again.
import type { Dapr } from '@reservex/platform/dapr';

export interface AccessToken {
  tokenId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface RevokedTokens {
  /** Records a signed-out token until it expires. */
  revoke(token: AccessToken): Promise<void>;
  isRevoked(token: AccessToken): Promise<boolean>;
}

export interface RevokedTokensOptions {
  store: string;
  /** Kept this much past expiry, for verifiers whose clocks run behind. Default 30 s. */
  clockToleranceSeconds?: number;
  /** How long a "not signed out" answer is reused. Default 1 s. */
  freshnessMs?: number;
  /** Bound on the answers remembered. Default 50,000. */
  maxEntries?: number;
  now?: () => number;
}

const keyOf = (tokenId: string) => `revoked-access-token:${tokenId}`;

export function daprRevokedTokens(dapr: Pick<Dapr, 'state'>, options: RevokedTokensOptions): RevokedTokens {
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const freshnessMs = options.freshnessMs ?? 1000;
  const maxEntries = options.maxEntries ?? 50_000;
  /** token id → until when (ms) it is known to be signed out. */
  const signedOut = new Map<string, number>();
  /** token id → a read of the store, and when it started. */
  const reads = new Map<string, { at: number; revoked: Promise<boolean> }>();

  function remember<V>(map: Map<string, V>, key: string, value: V) {
    if (map.size >= maxEntries) map.delete(map.keys().next().value!);
    map.set(key, value);
  }

  return {
    async revoke(token) {
      const ttlSeconds = Math.max(1, Math.ceil(token.expiresAt - now() / 1000) + tolerance);
      await dapr.state.save(
        options.store,
        keyOf(token.tokenId),
        { revokedAt: new Date(now()).toISOString() },
        { ttlSeconds },
      );
      reads.delete(token.tokenId);
      remember(signedOut, token.tokenId, now() + ttlSeconds * 1000);
    },
    async isRevoked(token) {
      const until = signedOut.get(token.tokenId);
      if (until !== undefined) {
        if (now() < until) return true;
        signedOut.delete(token.tokenId);
      }
      const read = reads.get(token.tokenId);
      if (read && now() - read.at < freshnessMs) return read.revoked;
      const revoked = dapr.state.get(options.store, keyOf(token.tokenId)).then((entry) => {
        if (entry === undefined) return false;
        remember(signedOut, token.tokenId, (token.expiresAt + tolerance) * 1000);
        return true;
      });
      remember(reads, token.tokenId, { at: now(), revoked });
      revoked.catch(() => reads.delete(token.tokenId));
      return revoked;
    },
  };
}

// Signed-out access tokens. An access token is verified by its signature alone, so signing out could
// only end the refresh token; this list names the access tokens (by `jti`) that were signed out, each
// kept until the token would have expired anyway, so the list never outgrows the tokens in flight.
// It lives in the gateway's Dapr state store (Redis, with a TTL per entry): every gateway replica
// sees a sign-out at once, and a check is one key read on the sidecar, made concurrently with the
// per-user rate limit.
import type { Dapr } from '@reservex/platform/dapr';

export interface RevokedTokens {
  /** Records a signed-out token until `expiresAt` (seconds since the epoch). */
  revoke(tokenId: string, expiresAt: number): Promise<void>;
  isRevoked(tokenId: string): Promise<boolean>;
}

export interface RevokedTokensOptions {
  store: string;
  /** Kept this much past expiry, for verifiers whose clocks run behind. Default 30 s. */
  clockToleranceSeconds?: number;
  now?: () => number;
}

const keyOf = (tokenId: string) => `revoked-access-token:${tokenId}`;

export function daprRevokedTokens(dapr: Pick<Dapr, 'state'>, options: RevokedTokensOptions): RevokedTokens {
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceSeconds ?? 30;
  return {
    async revoke(tokenId, expiresAt) {
      const ttlSeconds = Math.max(1, Math.ceil(expiresAt - now() / 1000) + tolerance);
      await dapr.state.save(
        options.store,
        keyOf(tokenId),
        { revokedAt: new Date(now()).toISOString() },
        { ttlSeconds },
      );
    },
    async isRevoked(tokenId) {
      return (await dapr.state.get(options.store, keyOf(tokenId))) !== undefined;
    },
  };
}

// Signed-out access tokens. An access token is verified by its signature alone, so signing out could
// only end the refresh token; this list names the access tokens (by `jti`) that were signed out, each
// kept until the token would have expired anyway, so the list never outgrows the tokens in flight.
// It lives in the gateway's Dapr state store (Redis, with a TTL per entry), so every gateway replica
// sees a sign-out.
//
// The check sits on every authenticated request, so it must cost no call in the common case. The
// tokens are spread over a fixed number of shards, and each shard has a generation: a value a
// sign-out replaces, after it has written its entry. A replica reads every shard's generation in
// one call at most once per `freshnessMs` (shared by all requests), and reads a token's entry only
// when that token's shard changed generation since its entry was last found absent. So a token
// costs one read when first seen and then none until somebody signs out in its shard; a sign-out
// through another replica takes effect here within `freshnessMs` (through this one, at once); and a
// token known to be signed out is never asked about again.
import { randomUUID } from 'node:crypto';
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
  /** How long the shards' generations read are trusted. Default 1 s. */
  freshnessMs?: number;
  /** Bound on the tokens remembered. Default 50,000. */
  maxEntries?: number;
  now?: () => number;
}

/** Shards of the list: a sign-out sends the tokens of one of them to be read again. */
export const REVOCATION_SHARDS = 32;

const keyOf = (tokenId: string) => `revoked-access-token:${tokenId}`;
const generationKeys = Array.from(
  { length: REVOCATION_SHARDS },
  (_, i) => `revoked-access-tokens:generation:${i}`,
);

/** The shard of a token id: FNV-1a over its characters. */
export function shardOf(tokenId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tokenId.length; i++) {
    hash ^= tokenId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % REVOCATION_SHARDS;
}

export function daprRevokedTokens(dapr: Pick<Dapr, 'state'>, options: RevokedTokensOptions): RevokedTokens {
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const freshnessMs = options.freshnessMs ?? 1000;
  const maxEntries = options.maxEntries ?? 50_000;
  /** token id → until when (ms) it is known to be signed out. */
  const signedOut = new Map<string, number>();
  /** token id → the generation of its shard read before its entry was found absent. */
  const absentAt = new Map<string, string>();
  /** token id → a read of its entry under a generation. */
  const reads = new Map<string, { generation: string; revoked: Promise<boolean> }>();
  /** The shards' generations, as read once for every check within `freshnessMs`. */
  let generations: { at: number; values: Promise<readonly string[]> } | undefined;

  function remember<V>(map: Map<string, V>, key: string, value: V) {
    if (map.size >= maxEntries && !map.has(key)) map.delete(map.keys().next().value!);
    map.set(key, value);
  }

  function currentGenerations(): Promise<readonly string[]> {
    if (generations && now() - generations.at < freshnessMs) return generations.values;
    const read = {
      at: now(),
      values: dapr.state
        .getMany<string>(options.store, generationKeys)
        .then((found) => generationKeys.map((key) => String(found.get(key)?.value ?? ''))),
    };
    generations = read;
    read.values.catch(() => {
      if (generations === read) generations = undefined;
    });
    return read.values;
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
      remember(signedOut, token.tokenId, now() + ttlSeconds * 1000);
      absentAt.delete(token.tokenId);
      reads.delete(token.tokenId);
      // After the entry: a replica that sees the new generation finds the entry.
      await dapr.state.save(options.store, generationKeys[shardOf(token.tokenId)]!, randomUUID());
    },
    async isRevoked(token) {
      const until = signedOut.get(token.tokenId);
      if (until !== undefined) {
        if (now() < until) return true;
        signedOut.delete(token.tokenId);
      }
      const generation = (await currentGenerations())[shardOf(token.tokenId)]!;
      if (absentAt.get(token.tokenId) === generation) return false;
      const read = reads.get(token.tokenId);
      if (read?.generation === generation) return read.revoked;
      const revoked: Promise<boolean> = dapr.state
        .get(options.store, keyOf(token.tokenId))
        .then((entry) => {
          if (entry === undefined) {
            remember(absentAt, token.tokenId, generation);
            return false;
          }
          remember(signedOut, token.tokenId, (token.expiresAt + tolerance) * 1000);
          return true;
        })
        .finally(() => {
          if (reads.get(token.tokenId)?.revoked === revoked) reads.delete(token.tokenId);
        });
      remember(reads, token.tokenId, { generation, revoked });
      return revoked;
    },
  };
}

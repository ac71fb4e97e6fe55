// Verification of the access tokens account issues. The public keys come from account's JWKS,
// fetched through Dapr service invocation and cached; a token signed with a key the cache does not
// know triggers one refetch (at most once per cooldown), which is how a key rotation reaches the
// gateway without a restart. Only asymmetric algorithms are accepted, so `alg: none` and HMAC
// tokens forged with a public key as secret are refused before any key is looked up.

import { rolesOf } from '@reservex/contracts';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  jwtVerify,
} from 'jose';
import type { Principal } from '../domain/identity.ts';

export const ACCEPTED_ALGORITHMS = ['EdDSA', 'ES256'] as const;

export interface VerifierOptions {
  /** Fetches the current JWKS document (from account, through Dapr). */
  fetchJwks: () => Promise<JSONWebKeySet>;
  issuer: string;
  audience: string;
  /** Re-read the JWKS at least this often. */
  maxAgeMs: number;
  /** Fetch at most once per this interval because of an unknown key id. */
  cooldownMs: number;
  clockToleranceSeconds?: number;
  /** Bound on the verified tokens remembered. Default 100,000. */
  maxCachedTokens?: number;
  now?: () => number;
}

/** Why a token was refused: each maps to 401, except when the keys cannot be had at all (503). */
export type TokenFailure = { kind: 'invalid'; detail: string } | { kind: 'keys-unavailable'; detail: string };

export class TokenRejected extends Error {
  readonly failure: TokenFailure;
  constructor(failure: TokenFailure) {
    super(failure.detail);
    this.name = 'TokenRejected';
    this.failure = failure;
  }
}

export function createAccessTokenVerifier(options: VerifierOptions) {
  const now = options.now ?? Date.now;
  let keys: { set: ReturnType<typeof createLocalJWKSet>; kids: Set<string>; fetchedAt: number } | undefined;
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let fetching: Promise<void> | undefined;
  // A token verified once is the same token until it expires: its signature is not checked again
  // while the key that signed it is still published in a fresh key set (a key withdrawn from the
  // JWKS ends its tokens at the next refresh). Sign-out is checked apart, on every request.
  const maxCached = options.maxCachedTokens ?? 100_000;
  const verified = new Map<string, { principal: Principal; kid: string }>();

  function cachedPrincipal(token: string): Principal | undefined {
    const entry = verified.get(token);
    if (!entry) return undefined;
    const fresh = keys !== undefined && now() - keys.fetchedAt < options.maxAgeMs && keys.kids.has(entry.kid);
    if (fresh && now() < entry.principal.expiresAt * 1000) return entry.principal;
    verified.delete(token);
    return undefined;
  }

  async function refresh(): Promise<void> {
    fetching ??= (async () => {
      lastFetchAt = now();
      try {
        const document = await options.fetchJwks();
        if (!document || !Array.isArray(document.keys))
          throw new Error('the JWKS document has no keys array');
        keys = {
          set: createLocalJWKSet(document),
          kids: new Set(
            document.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === 'string'),
          ),
          fetchedAt: now(),
        };
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  }

  async function keysFor(kid: string | undefined): Promise<NonNullable<typeof keys>> {
    const stale = !keys || now() - keys.fetchedAt >= options.maxAgeMs;
    const unknownKid = keys !== undefined && kid !== undefined && !keys.kids.has(kid);
    if (stale || (unknownKid && now() - lastFetchAt >= options.cooldownMs)) {
      try {
        await refresh();
      } catch (error) {
        // A stale cache still verifies tokens signed with the keys it knows.
        if (!keys) {
          throw new TokenRejected({
            kind: 'keys-unavailable',
            detail: `cannot fetch the signing keys: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
      }
    }
    return keys!;
  }

  async function getKey(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    const current = await keysFor(header.kid);
    return current.set(header, token);
  }

  return async function verify(token: string): Promise<Principal> {
    const known = cachedPrincipal(token);
    if (known) return known;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
        algorithms: [...ACCEPTED_ALGORITHMS],
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        currentDate: new Date(now()),
      });
      const roles = rolesOf(payload.roles);
      if (!payload.sub || roles.length === 0 || !payload.jti || payload.exp === undefined) {
        throw new TokenRejected({ kind: 'invalid', detail: 'the token names no user or no role' });
      }
      const principal = { userId: payload.sub, roles, tokenId: payload.jti, expiresAt: payload.exp };
      if (protectedHeader.kid !== undefined) {
        if (verified.size >= maxCached) verified.delete(verified.keys().next().value!);
        verified.set(token, { principal, kid: protectedHeader.kid });
      }
      return principal;
    } catch (error) {
      if (error instanceof TokenRejected) throw error;
      throw new TokenRejected({ kind: 'invalid', detail: describe(error) });
    }
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token was signed with an unknown key';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token claim ${error.claim} is invalid`;
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return 'the token is malformed';
  return 'the token is invalid';
}

/** The token of an `Authorization: Bearer …` header; undefined when absent, null when malformed. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(header);
  return match ? match[1]! : null;
}

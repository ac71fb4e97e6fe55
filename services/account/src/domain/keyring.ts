// The access-token signing keys. One key signs; keys retired by a rotation stay published in the
// JWKS until every token they signed has expired, so a rotation never logs anyone out.
export interface SigningKey {
  kid: string;
  createdAt: Date;
  /** When a newer key took over signing; null for the signing key. */
  retiredAt: Date | null;
}

/** The newest key not retired. */
export function signingKeyOf<K extends SigningKey>(keys: readonly K[]): K | undefined {
  let newest: K | undefined;
  for (const key of keys) {
    if (key.retiredAt !== null) continue;
    if (!newest || key.createdAt.getTime() > newest.createdAt.getTime()) newest = key;
  }
  return newest;
}

/** Keys a verifier must still accept: the signing key and those retired less than a token lifetime ago. */
export function publishedKeysOf<K extends SigningKey>(
  keys: readonly K[],
  now: Date,
  accessTokenTtlSeconds: number,
  clockSkewSeconds = 60,
): K[] {
  const horizon = (accessTokenTtlSeconds + clockSkewSeconds) * 1000;
  return keys.filter((key) => key.retiredAt === null || key.retiredAt.getTime() + horizon > now.getTime());
}

/** Keys that can be deleted: retired longer ago than any token they signed can live. */
export function expiredKeysOf<K extends SigningKey>(
  keys: readonly K[],
  now: Date,
  accessTokenTtlSeconds: number,
  clockSkewSeconds = 60,
): K[] {
  const published = new Set(publishedKeysOf(keys, now, accessTokenTtlSeconds, clockSkewSeconds));
  return keys.filter((key) => !published.has(key));
}

export function needsRotation(keys: readonly SigningKey[], now: Date, rotationIntervalMs: number): boolean {
  const current = signingKeyOf(keys);
  return !current || now.getTime() - current.createdAt.getTime() >= rotationIntervalMs;
}

// Where access-token signing keys come from. A deployment configures them (JWT_SIGNING_KEYS, from a
// secret: a JSON array of private JWKs, the first signs, the others are still published so tokens
// they signed verify until they expire; rotate by prepending a new key, drop the old one a token
// lifetime later). Without configuration — a local run, a test — the service generates an Ed25519
// key itself, keeps it in its database so every replica and restart signs with the same key, and
// rotates it on a schedule, keeping retired keys published until their tokens have expired. The
// private part of a generated key is stored sealed (key-encryption.ts) under a key from a Secret.
import { randomUUID } from 'node:crypto';
import type { Database } from '@reservex/platform/db';
import { logger } from '@reservex/platform/telemetry';
import { eq, inArray, isNull, sql } from 'drizzle-orm';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import type * as schema from '../db/schema.ts';
import { signingKeys } from '../db/schema.ts';
import { expiredKeysOf, needsRotation, publishedKeysOf, signingKeyOf } from '../domain/keyring.ts';
import type { KeySealer } from './key-encryption.ts';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface ActiveKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
}

export interface KeySource {
  /** The key to sign new tokens with. */
  signingKey(): Promise<ActiveKey>;
  /** The public keys a verifier must accept now, as a JWKS document. */
  jwks(): Promise<{ keys: JWK[] }>;
  close(): void;
}

const privateFields = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export function publicJwkOf(jwk: JWK, kid: string, alg: SigningAlgorithm): JWK {
  const copy: JWK = { ...jwk };
  for (const field of privateFields) delete copy[field];
  return { ...copy, kid, alg, use: 'sig' };
}

function algorithmOf(jwk: JWK): SigningAlgorithm | undefined {
  if (jwk.alg === 'EdDSA' || jwk.alg === 'ES256') return jwk.alg as SigningAlgorithm;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

const ConfiguredKeys = z
  .array(z.looseObject({ kid: z.string().min(1).max(200), kty: z.string(), d: z.string().min(1) }))
  .min(1);

/** Parses JWT_SIGNING_KEYS; throws a message naming what is wrong (never the key material). */
export async function configuredKeySource(text: string): Promise<KeySource> {
  let parsed: z.infer<typeof ConfiguredKeys>;
  try {
    parsed = ConfiguredKeys.parse(JSON.parse(text));
  } catch {
    throw new Error(
      'JWT_SIGNING_KEYS must be a JSON array of private JWKs (Ed25519 or P-256), each with a kid',
    );
  }
  const loaded = await Promise.all(
    parsed.map(async (jwk) => {
      const alg = algorithmOf(jwk as JWK);
      if (!alg)
        throw new Error(`JWT_SIGNING_KEYS: key ${jwk.kid} is neither Ed25519 (EdDSA) nor P-256 (ES256)`);
      const privateKey = (await importJWK({ ...(jwk as JWK), alg }, alg)) as CryptoKey;
      return { kid: jwk.kid, alg, privateKey, publicJwk: publicJwkOf(jwk as JWK, jwk.kid, alg) };
    }),
  );
  const [signing] = loaded;
  const document = { keys: loaded.map((key) => key.publicJwk) };
  return {
    signingKey: async () => ({ kid: signing!.kid, alg: signing!.alg, privateKey: signing!.privateKey }),
    jwks: async () => document,
    close: () => {},
  };
}

export interface GeneratedKeyOptions {
  /** Seals private keys before they are stored, and opens them when read. */
  sealer: KeySealer;
  accessTokenTtlSeconds: number;
  rotationIntervalMs: number;
  /** How often a replica re-reads the keys (another replica may have rotated). */
  refreshIntervalMs?: number;
  /** Allowance for clocks of verifiers running ahead: retired keys stay published this much longer. */
  clockSkewSeconds?: number;
}

type KeyRow = typeof signingKeys.$inferSelect;

/** Generated keys, kept in the account database and rotated on schedule (see file header). */
export async function generatedKeySource(
  db: Database<typeof schema>,
  options: GeneratedKeyOptions,
): Promise<KeySource> {
  let rows: KeyRow[] = [];
  let active: ActiveKey | undefined;
  let loadedAt = 0;
  const refreshIntervalMs = options.refreshIntervalMs ?? 60_000;

  async function rotateIfDue(): Promise<void> {
    if (!needsRotation(await db.select().from(signingKeys), new Date(), options.rotationIntervalMs)) return;
    await db.transaction(async (tx) => {
      // One replica rotates; the others wait here, then find the fresh key and do nothing.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('account.signing-keys'))`);
      const now = new Date();
      const current = await tx.select().from(signingKeys);
      if (!needsRotation(current, now, options.rotationIntervalMs)) return;
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const kid = randomUUID();
      await tx.update(signingKeys).set({ retiredAt: now }).where(isNull(signingKeys.retiredAt));
      await tx.insert(signingKeys).values({
        kid,
        alg: 'EdDSA',
        privateJwk: { ...options.sealer.seal(kid, { ...(await exportJWK(privateKey)) }) },
        publicJwk: { ...publicJwkOf(await exportJWK(publicKey), kid, 'EdDSA') },
        createdAt: now,
      });
      const expired = expiredKeysOf(
        current,
        now,
        options.accessTokenTtlSeconds,
        options.clockSkewSeconds,
      ).map((key) => key.kid);
      if (expired.length > 0) await tx.delete(signingKeys).where(inArray(signingKeys.kid, expired));
      logger.info(
        { kid, retired: current.filter((k) => k.retiredAt === null).map((k) => k.kid) },
        'signing key rotated',
      );
    });
  }

  async function load(): Promise<void> {
    await rotateIfDue();
    rows = await db.select().from(signingKeys);
    const signing = signingKeyOf(rows);
    if (!signing) throw new Error('no signing key after rotation');
    if (active?.kid !== signing.kid) {
      const alg = signing.alg as SigningAlgorithm;
      const opened = options.sealer.open(signing.kid, signing.privateJwk);
      if (opened.legacy) {
        // Stored in the clear before keys were sealed: seal it now.
        await db
          .update(signingKeys)
          .set({ privateJwk: { ...options.sealer.seal(signing.kid, opened.jwk) } })
          .where(eq(signingKeys.kid, signing.kid));
        logger.info({ kid: signing.kid }, 'signing key sealed at rest');
      }
      active = {
        kid: signing.kid,
        alg,
        privateKey: (await importJWK(opened.jwk as JWK, alg)) as CryptoKey,
      };
    }
    loadedAt = Date.now();
  }

  let loading: Promise<void> | undefined;
  async function fresh(): Promise<void> {
    if (active && Date.now() - loadedAt < refreshIntervalMs) return;
    loading ??= load().finally(() => {
      loading = undefined;
    });
    await loading;
  }

  await load();
  const timer = setInterval(() => {
    fresh().catch((error: unknown) => logger.warn({ err: error }, 'signing keys refresh failed'));
  }, refreshIntervalMs);
  timer.unref();

  return {
    async signingKey() {
      await fresh();
      return active!;
    },
    async jwks() {
      await fresh();
      const published = publishedKeysOf(
        rows,
        new Date(),
        options.accessTokenTtlSeconds,
        options.clockSkewSeconds,
      );
      return { keys: published.map((row) => row.publicJwk as JWK) };
    },
    close: () => clearInterval(timer),
  };
}

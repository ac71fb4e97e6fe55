// Private signing keys at rest. Generated keys live in the account database; a copy of that database
// (a backup, a replica, a dump) must not be enough to sign access tokens. Each private JWK is sealed
// with AES-256-GCM under a key derived (HKDF-SHA256) from SIGNING_KEY_ENCRYPTION_KEY, which comes
// from a Secret, never from the database; the key id is bound as associated data, so a sealed key
// moved to another row does not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';

export const MIN_SECRET_LENGTH = 32;

const Sealed = z.object({
  sealed: z.literal('A256GCM'),
  iv: z.string(),
  tag: z.string(),
  ciphertext: z.string(),
});
export type SealedJwk = z.infer<typeof Sealed>;

export interface KeySealer {
  seal(kid: string, privateJwk: Record<string, unknown>): SealedJwk;
  /** The private JWK of a row; a row written before sealing existed is read as it is (`legacy`). */
  open(kid: string, stored: unknown): { jwk: Record<string, unknown>; legacy: boolean };
}

export function isSealed(stored: unknown): stored is SealedJwk {
  return Sealed.safeParse(stored).success;
}

export function createKeySealer(secret: string): KeySealer {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`SIGNING_KEY_ENCRYPTION_KEY must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const key = Buffer.from(hkdfSync('sha256', secret, 'reservex/account', 'signing-keys/v1', 32));
  return {
    seal(kid, privateJwk) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(kid));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(privateJwk)), cipher.final()]);
      return {
        sealed: 'A256GCM',
        iv: iv.toString('base64url'),
        tag: cipher.getAuthTag().toString('base64url'),
        ciphertext: ciphertext.toString('base64url'),
      };
    },
    open(kid, stored) {
      if (!isSealed(stored)) {
        if (stored && typeof stored === 'object' && 'd' in stored) {
          return { jwk: stored as Record<string, unknown>, legacy: true };
        }
        throw new Error(`signing key ${kid} is neither sealed nor a private JWK`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(stored.iv, 'base64url'));
        decipher.setAAD(Buffer.from(kid));
        decipher.setAuthTag(Buffer.from(stored.tag, 'base64url'));
        const plain = Buffer.concat([
          decipher.update(Buffer.from(stored.ciphertext, 'base64url')),
          decipher.final(),
        ]);
        return { jwk: JSON.parse(plain.toString('utf8')) as Record<string, unknown>, legacy: false };
      } catch {
        throw new Error(
          `signing key ${kid} does not open with SIGNING_KEY_ENCRYPTION_KEY (changed, or not the key it was sealed with)`,
        );
      }
    },
  };
}

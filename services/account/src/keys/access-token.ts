// Access tokens: short-lived JWTs naming the user and their roles, signed with the current key and
// carrying its `kid` so a verifier can pick the right public key from the JWKS.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '../domain/roles.ts';
import type { ActiveKey } from './signing-keys.ts';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function issueAccessToken(
  subject: { userId: string; roles: readonly Role[] },
  key: ActiveKey,
  settings: AccessTokenSettings,
  now = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ roles: [...subject.roles] })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setSubject(subject.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

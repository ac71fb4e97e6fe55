// The pass an admitted user presents to the reservation service: a JWT signed HS256 with the secret
// queue and reservation share, bound to one user and one show, single use (its `jti`), short-lived.
// Signing is deterministic, so the pass can be re-derived from the admission record at any time
// and any replica hands out the same token.
import { jwtVerify, SignJWT } from 'jose';

export const PASS_TYPE = 'pass';

export interface PassClaims {
  sub: string;
  show: string;
  jti: string;
  iat: number;
  exp: number;
  typ: typeof PASS_TYPE;
}

export interface Admission {
  /** 1-based order of admission within the show. */
  number: number;
  jti: string;
  admittedAtMs: number;
  passExpiresAtMs: number;
}

export function passClaimsOf(userId: string, showId: string, admission: Admission): PassClaims {
  return {
    sub: userId,
    show: showId,
    jti: admission.jti,
    iat: Math.floor(admission.admittedAtMs / 1000),
    exp: Math.floor(admission.passExpiresAtMs / 1000),
    typ: PASS_TYPE,
  };
}

export function passKeyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signPass(claims: PassClaims, key: Uint8Array): Promise<string> {
  return new SignJWT({ show: claims.show, typ: claims.typ })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key);
}

export type PassCheck =
  | { valid: true; claims: PassClaims }
  | {
      valid: false;
      reason: 'malformed' | 'signature' | 'expired' | 'wrong-user' | 'wrong-show' | 'wrong-type';
    };

/** The checks the reservation service makes, kept here so queue tests can prove their passes hold. */
export async function verifyPass(
  token: string,
  key: Uint8Array,
  expected: { userId: string; showId: string },
  nowSeconds?: number,
): Promise<PassCheck> {
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      ...(nowSeconds === undefined ? {} : { currentDate: new Date(nowSeconds * 1000) }),
    });
    payload = verified.payload;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') return { valid: false, reason: 'expired' };
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { valid: false, reason: 'signature' };
    return { valid: false, reason: 'malformed' };
  }
  if (payload.typ !== PASS_TYPE) return { valid: false, reason: 'wrong-type' };
  if (payload.sub !== expected.userId) return { valid: false, reason: 'wrong-user' };
  if (payload.show !== expected.showId) return { valid: false, reason: 'wrong-show' };
  return { valid: true, claims: payload as unknown as PassClaims };
}

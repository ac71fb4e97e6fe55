// The waiting room's pass, as queue signs it and reservation checks it: a JWT signed HS256 with the
// secret both share, bound to one user and one show, single use (its `jti`), short-lived. Signing is
// deterministic, so the pass can be re-derived from the admission record at any time and any replica
// hands out the same token.
import { errors, jwtVerify, SignJWT } from 'jose';

export const PASS_TYPE = 'pass';

export type PassClaims = {
  sub: string;
  show: string;
  jti: string;
  iat: number;
  exp: number;
  typ: typeof PASS_TYPE;
};

export type PassKey = Uint8Array;

/** The shared secret as a key; at least 32 characters, checked by the services' configuration. */
export function passKey(secret: string): PassKey {
  return new TextEncoder().encode(secret);
}

export async function signPass(claims: PassClaims, key: PassKey): Promise<string> {
  return new SignJWT({ show: claims.show, typ: claims.typ })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key);
}

export type Pass = { readonly jti: string; readonly expiresAt: Date };

export type PassVerdict =
  | { readonly ok: true; readonly pass: Pass }
  | { readonly ok: false; readonly why: 'expired' | 'invalid' | 'wrong-user' | 'wrong-show' };

/** Whether `token` is a pass for this user and show, valid at `now`. */
export async function verifyPass(
  token: string,
  key: PassKey,
  expected: { userId: string; showId: string },
  now: Date,
): Promise<PassVerdict> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      currentDate: now,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    });
    if (payload.typ !== PASS_TYPE || typeof payload.show !== 'string' || !payload.jti || !payload.exp) {
      return { ok: false, why: 'invalid' };
    }
    if (payload.sub !== expected.userId) return { ok: false, why: 'wrong-user' };
    if (payload.show !== expected.showId) return { ok: false, why: 'wrong-show' };
    return { ok: true, pass: { jti: payload.jti, expiresAt: new Date(payload.exp * 1000) } };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, why: 'expired' };
    return { ok: false, why: 'invalid' };
  }
}

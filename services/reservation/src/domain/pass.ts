// The waiting room's pass: a short-lived HS256 JWT the queue service signs when it admits a user to a
// show. A reservation needs one for the same user and show; spending it (once) happens elsewhere.
import { errors, jwtVerify } from 'jose';

export type Pass = { readonly jti: string; readonly expiresAt: Date };

export type PassVerdict =
  | { readonly ok: true; readonly pass: Pass }
  | { readonly ok: false; readonly why: 'expired' | 'invalid' | 'wrong-user' | 'wrong-show' };

export type PassKey = Uint8Array;

/** The shared secret as a key; at least 32 characters, checked by the configuration. */
export function passKey(secret: string): PassKey {
  return new TextEncoder().encode(secret);
}

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
    if (payload.typ !== 'pass' || typeof payload.show !== 'string' || !payload.jti || !payload.exp) {
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

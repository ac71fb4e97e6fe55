import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { passClaimsOf, passKeyOf, signPass, verifyPass } from './pass-token.ts';

const key = passKeyOf('a-shared-secret-of-at-least-32-characters!');
const admission = {
  number: 7,
  jti: 'j-1',
  admittedAtMs: 1_800_000_000_123,
  passExpiresAtMs: 1_800_000_300_123,
};
const claims = passClaimsOf('u1', 's1', admission);

describe('pass token', () => {
  it('carries the agreed claims, HS256', async () => {
    const token = await signPass(claims, key);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({
      sub: 'u1',
      show: 's1',
      jti: 'j-1',
      iat: 1_800_000_000,
      exp: 1_800_000_300,
      typ: 'pass',
    });
  });

  it('is the same token whenever it is derived from the same admission', async () => {
    expect(await signPass(claims, key)).toBe(await signPass(passClaimsOf('u1', 's1', { ...admission }), key));
  });

  it('verifies for its user and show only', async () => {
    const token = await signPass(claims, key);
    const now = 1_800_000_100;
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's1' }, now)).toMatchObject({ valid: true });
    expect(await verifyPass(token, key, { userId: 'u2', showId: 's1' }, now)).toEqual({
      valid: false,
      reason: 'wrong-user',
    });
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's2' }, now)).toEqual({
      valid: false,
      reason: 'wrong-show',
    });
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's1' }, 1_800_000_301)).toEqual({
      valid: false,
      reason: 'expired',
    });
  });

  it('refuses a pass signed with another secret, or garbage', async () => {
    const forged = await signPass(claims, passKeyOf('another-secret-of-at-least-32-characters'));
    const expected = { userId: 'u1', showId: 's1' };
    expect(await verifyPass(forged, key, expected, 1_800_000_100)).toEqual({
      valid: false,
      reason: 'signature',
    });
    expect(await verifyPass('not.a.jwt', key, expected)).toEqual({ valid: false, reason: 'malformed' });
  });
});

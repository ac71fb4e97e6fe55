import { passKey, signPass, verifyPass } from '@reservex/contracts';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { passClaimsOf } from './pass-token.ts';

// The passes are checked with the verifier reservation runs, so a change to either side shows here.
const key = passKey('a-shared-secret-of-at-least-32-characters!');
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

  it('verifies, as reservation checks it, for its user and show only, until it expires', async () => {
    const token = await signPass(claims, key);
    const now = new Date(1_800_000_100_000);
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's1' }, now)).toEqual({
      ok: true,
      pass: { jti: 'j-1', expiresAt: new Date(1_800_000_300_000) },
    });
    expect(await verifyPass(token, key, { userId: 'u2', showId: 's1' }, now)).toEqual({
      ok: false,
      why: 'wrong-user',
    });
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's2' }, now)).toEqual({
      ok: false,
      why: 'wrong-show',
    });
    expect(await verifyPass(token, key, { userId: 'u1', showId: 's1' }, new Date(1_800_000_301_000))).toEqual(
      {
        ok: false,
        why: 'expired',
      },
    );
  });

  it('is refused when signed with another secret', async () => {
    const forged = await signPass(claims, passKey('another-secret-of-at-least-32-characters'));
    const expected = { userId: 'u1', showId: 's1' };
    expect(await verifyPass(forged, key, expected, new Date(1_800_000_100_000))).toEqual({
      ok: false,
      why: 'invalid',
    });
  });
});

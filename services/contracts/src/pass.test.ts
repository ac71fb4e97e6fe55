import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { passKey, verifyPass } from './pass.ts';

const secret = 'a-shared-secret-of-at-least-32-characters!';
const key = passKey(secret);
const now = new Date('2026-11-21T10:00:00Z');
const at = (d: Date) => Math.floor(d.getTime() / 1000);
const expected = { userId: 'user-1', showId: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10' };

function pass(
  claims: Record<string, unknown> = {},
  options: { secret?: string; exp?: number; alg?: string } = {},
) {
  return new SignJWT({ typ: 'pass', show: expected.showId, ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject((claims.sub as string | undefined) ?? expected.userId)
    .setJti('pass-1')
    .setIssuedAt(at(now) - 10)
    .setExpirationTime(options.exp ?? at(now) + 300)
    .sign(passKey(options.secret ?? secret));
}

describe('verifyPass', () => {
  it('accepts a pass for this user and show, telling when it expires', async () => {
    expect(await verifyPass(await pass(), key, expected, now)).toEqual({
      ok: true,
      pass: { jti: 'pass-1', expiresAt: new Date((at(now) + 300) * 1000) },
    });
  });

  it('refuses an expired pass', async () => {
    expect(await verifyPass(await pass({}, { exp: at(now) - 1 }), key, expected, now)).toEqual({
      ok: false,
      why: 'expired',
    });
  });

  it('refuses a pass of another user or another show', async () => {
    expect(await verifyPass(await pass({ sub: 'user-2' }), key, expected, now)).toEqual({
      ok: false,
      why: 'wrong-user',
    });
    expect(await verifyPass(await pass({ show: 'other' }), key, expected, now)).toEqual({
      ok: false,
      why: 'wrong-show',
    });
  });

  it('refuses a forged signature, another token type and garbage', async () => {
    const forged = await pass({}, { secret: 'another-secret-of-at-least-32-characters' });
    expect(await verifyPass(forged, key, expected, now)).toEqual({ ok: false, why: 'invalid' });
    expect(await verifyPass(await pass({ typ: 'access' }), key, expected, now)).toEqual({
      ok: false,
      why: 'invalid',
    });
    expect(await verifyPass('not.a.jwt', key, expected, now)).toEqual({ ok: false, why: 'invalid' });
  });
});

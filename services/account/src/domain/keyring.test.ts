import { describe, expect, it } from 'vitest';
import { expiredKeysOf, needsRotation, publishedKeysOf, type SigningKey, signingKeyOf } from './keyring.ts';

const at = (iso: string) => new Date(`2026-11-21T${iso}Z`);
const keys: SigningKey[] = [
  { kid: 'old', createdAt: at('08:00:00'), retiredAt: at('09:00:00') },
  { kid: 'previous', createdAt: at('09:00:00'), retiredAt: at('09:55:00') },
  { kid: 'current', createdAt: at('09:55:00'), retiredAt: null },
];

describe('keyring', () => {
  it('signs with the newest unretired key', () => {
    expect(signingKeyOf(keys)?.kid).toBe('current');
    expect(signingKeyOf([])).toBeUndefined();
  });

  it('publishes retired keys until their last token has expired', () => {
    const now = at('10:00:00');
    expect(publishedKeysOf(keys, now, 900).map((k) => k.kid)).toEqual(['previous', 'current']);
    expect(expiredKeysOf(keys, now, 900).map((k) => k.kid)).toEqual(['old']);
    expect(publishedKeysOf(keys, at('10:11:01'), 900).map((k) => k.kid)).toEqual(['current']);
  });

  it('rotates when the signing key is older than the interval or missing', () => {
    expect(needsRotation(keys, at('10:00:00'), 3_600_000)).toBe(false);
    expect(needsRotation(keys, at('10:55:00'), 3_600_000)).toBe(true);
    expect(needsRotation([], at('10:00:00'), 3_600_000)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { createKeySealer, isSealed } from './key-encryption.ts';

const secret = 'key-encryption-test-secret-0123456789abcdef';
const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'public-part', d: 'private-part' };

describe('signing keys at rest', () => {
  it('are sealed: nothing of the private key is readable, and they open with the same secret and kid', () => {
    const sealer = createKeySealer(secret);
    const sealed = sealer.seal('k1', jwk);
    expect(isSealed(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('private-part');
    expect(sealer.open('k1', sealed)).toEqual({ jwk, legacy: false });
    expect(createKeySealer(secret).open('k1', sealed).jwk).toEqual(jwk);
  });

  it('do not open with another secret, under another kid, or tampered with', () => {
    const sealed = createKeySealer(secret).seal('k1', jwk);
    expect(() => createKeySealer(`${secret}-other`).open('k1', sealed)).toThrow(/does not open/);
    expect(() => createKeySealer(secret).open('k2', sealed)).toThrow(/does not open/);
    const tampered = { ...sealed, ciphertext: `A${sealed.ciphertext.slice(1)}` };
    expect(() => createKeySealer(secret).open('k1', tampered)).toThrow(/does not open/);
  });

  it('read a key stored before sealing as legacy, and refuse anything else', () => {
    const sealer = createKeySealer(secret);
    expect(sealer.open('k0', jwk)).toEqual({ jwk, legacy: true });
    expect(() => sealer.open('k0', { kty: 'OKP' })).toThrow(/neither sealed/);
  });

  it('refuse a short secret, without echoing it', () => {
    expect(() => createKeySealer('short-secret')).toThrow(/at least 32 characters/);
    expect(() => createKeySealer('short-secret')).not.toThrow(/short-secret/);
  });
});

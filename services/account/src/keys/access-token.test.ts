import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { issueAccessToken } from './access-token.ts';
import { configuredKeySource, publicJwkOf } from './signing-keys.ts';

const settings = { issuer: 'reservex-account', audience: 'reservex', ttlSeconds: 900 };

async function configured() {
  const first = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const second = await generateKeyPair('ES256', { extractable: true });
  const keys = [
    { ...(await exportJWK(first.privateKey)), kid: 'k-new' },
    { ...(await exportJWK(second.privateKey)), kid: 'k-old' },
  ];
  return configuredKeySource(JSON.stringify(keys));
}

describe('access tokens with configured keys', () => {
  it('signs with the first key and publishes all public keys, without private parts', async () => {
    const source = await configured();
    const key = await source.signingKey();
    const token = await issueAccessToken({ userId: 'u1', roles: ['USER'] }, key, settings);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: 'k-new', typ: 'JWT' });

    const jwks = await source.jwks();
    expect(jwks.keys.map((k) => [k.kid, k.alg])).toEqual([
      ['k-new', 'EdDSA'],
      ['k-old', 'ES256'],
    ]);
    for (const jwk of jwks.keys) expect(jwk).not.toHaveProperty('d');

    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: settings.issuer,
      audience: settings.audience,
    });
    expect(payload).toMatchObject({ sub: 'u1', roles: ['USER'] });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('refuses malformed configuration without echoing it', async () => {
    await expect(configuredKeySource('{"secret":"xyz"}')).rejects.toThrow(/JSON array of private JWKs/);
    await expect(configuredKeySource('[{"kid":"a","kty":"RSA","d":"x","n":"y","e":"AQAB"}]')).rejects.toThrow(
      /neither Ed25519/,
    );
  });

  it('strips private members from a public JWK', () => {
    expect(publicJwkOf({ kty: 'OKP', crv: 'Ed25519', x: 'X', d: 'D' }, 'k', 'EdDSA')).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'X',
      kid: 'k',
      alg: 'EdDSA',
      use: 'sig',
    });
  });
});

import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createAccessTokenVerifier, TokenRejected } from './access-tokens.ts';

const issuer = 'reservex-account';
const audience = 'reservex';
const T0 = Date.parse('2026-11-21T10:00:00Z');

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

async function sign(key: Awaited<ReturnType<typeof keyPair>>, claims: Record<string, unknown> = {}, at = T0) {
  const iat = Math.floor(at / 1000);
  return new SignJWT({ roles: ['USER'], ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setSubject('u1')
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .setJti('token-1')
    .sign(key.privateKey);
}

function b64(value: unknown) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function setup() {
  const current = await keyPair('k1');
  let document: JSONWebKeySet = { keys: [current.jwk] };
  let clock = T0;
  let fetches = 0;
  const verify = createAccessTokenVerifier({
    fetchJwks: async () => {
      fetches++;
      return document;
    },
    issuer,
    audience,
    maxAgeMs: 300_000,
    cooldownMs: 10_000,
    now: () => clock,
  });
  return {
    current,
    verify,
    publish: (jwks: JSONWebKeySet) => {
      document = jwks;
    },
    advance: (ms: number) => {
      clock += ms;
    },
    fetches: () => fetches,
  };
}

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRejected);
  return (error as TokenRejected).failure;
}

describe('access token verification', () => {
  it('accepts a valid token and returns the principal', async () => {
    const { current, verify } = await setup();
    expect(await verify(await sign(current, { roles: ['USER', 'ADMIN'] }))).toEqual({
      userId: 'u1',
      roles: ['USER', 'ADMIN'],
      tokenId: 'token-1',
      expiresAt: Math.floor(T0 / 1000) + 900,
    });
  });

  it('refuses an expired token', async () => {
    const { current, verify, advance } = await setup();
    const token = await sign(current);
    advance(906_000);
    expect(await rejection(verify(token))).toEqual({ kind: 'invalid', detail: 'the token has expired' });
  });

  it('verifies a token once and remembers it until it expires', async () => {
    const { current, verify, advance } = await setup();
    const token = await sign(current);
    const first = await verify(token);
    expect(await verify(token)).toBe(first);
    advance(899_000);
    expect(await verify(token)).toEqual(first);
    advance(7000);
    expect(await rejection(verify(token))).toEqual({ kind: 'invalid', detail: 'the token has expired' });
  });

  it('forgets a remembered token once its key is withdrawn from the key set', async () => {
    const { current, verify, publish, advance } = await setup();
    const token = await sign(current);
    await verify(token);
    const next = await keyPair('k2');
    publish({ keys: [next.jwk] });
    advance(300_000); // the key set is re-read
    expect(await rejection(verify(token))).toMatchObject({ kind: 'invalid' });
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const { verify } = await setup();
    const impostor = await keyPair('k1');
    expect(await rejection(verify(await sign(impostor)))).toEqual({
      kind: 'invalid',
      detail: 'the token signature is invalid',
    });
  });

  it('refuses alg none', async () => {
    const { verify } = await setup();
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u1', roles: ['ADMIN'], iss: issuer, aud: audience, iat: T0 / 1000, exp: T0 / 1000 + 900 })}.`;
    expect(await rejection(verify(token))).toMatchObject({ kind: 'invalid' });
  });

  it('refuses an HMAC token keyed with the public key', async () => {
    const { current, verify } = await setup();
    const token = await new SignJWT({ roles: ['ADMIN'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('u1')
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 900)
      .sign(new TextEncoder().encode(JSON.stringify(current.jwk)));
    expect(await rejection(verify(token))).toEqual({
      kind: 'invalid',
      detail: 'the token algorithm is not accepted',
    });
  });

  it('refuses a tampered payload', async () => {
    const { current, verify } = await setup();
    const [header, , signature] = (await sign(current)).split('.');
    const forged = b64({
      sub: 'u1',
      roles: ['USER', 'ADMIN'],
      iss: issuer,
      aud: audience,
      iat: T0 / 1000,
      exp: T0 / 1000 + 900,
    });
    expect(await rejection(verify(`${header}.${forged}.${signature}`))).toEqual({
      kind: 'invalid',
      detail: 'the token signature is invalid',
    });
  });

  it('refuses another audience or issuer, and a token without roles', async () => {
    const { current, verify } = await setup();
    const other = await new SignJWT({ roles: ['USER'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('u1')
      .setIssuer(issuer)
      .setAudience('someone-else')
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 900)
      .setJti('token-2')
      .sign(current.privateKey);
    expect(await rejection(verify(other))).toMatchObject({
      kind: 'invalid',
      detail: 'the token claim aud is invalid',
    });
    expect(await rejection(verify(await sign(current, { roles: [] })))).toMatchObject({ kind: 'invalid' });
  });

  it('refuses a token without an id: signing out could not revoke it', async () => {
    const { current, verify } = await setup();
    const anonymous = await new SignJWT({ roles: ['USER'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('u1')
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 900)
      .sign(current.privateKey);
    expect(await rejection(verify(anonymous))).toMatchObject({ kind: 'invalid' });
  });

  it('picks up a rotated key on first sight of its kid, and fetches at most once per cooldown', async () => {
    const { current, verify, publish, advance, fetches } = await setup();
    await verify(await sign(current));
    expect(fetches()).toBe(1);

    const next = await keyPair('k2');
    publish({ keys: [next.jwk, current.jwk] });
    advance(10_000);
    expect(await verify(await sign(next, {}, T0 + 10_000))).toMatchObject({ userId: 'u1' });
    expect(fetches()).toBe(2);

    const unknown = await keyPair('k3');
    await rejection(verify(await sign(unknown, {}, T0 + 10_000)));
    await rejection(verify(await sign(unknown, {}, T0 + 10_000)));
    expect(fetches()).toBe(2);
  });

  it('reports unavailable keys when the JWKS cannot be fetched at all', async () => {
    const verify = createAccessTokenVerifier({
      fetchJwks: async () => {
        throw new Error('connection refused');
      },
      issuer,
      audience,
      maxAgeMs: 1000,
      cooldownMs: 1000,
    });
    const key = await keyPair('k1');
    expect(await rejection(verify(await sign(key, {}, Date.now())))).toMatchObject({
      kind: 'keys-unavailable',
    });
  });
});

describe('bearerToken', () => {
  it('reads the token of a bearer header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeNull();
    expect(bearerToken('Bearer ')).toBeNull();
  });
});

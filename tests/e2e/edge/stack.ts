// The edge of the system as its acceptance tests (and the queue benchmark) run it: gateway, account and queue (and, for the
// journey, the saga services) on the real local stack, reached only through the gateway. Access
// tokens are signed by account with a key this file generates (JWT_SIGNING_KEYS), so tests can
// also mint tokens for many users, expired tokens, and forgeries, without a login each.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import {
  type AppSpec,
  cardSandboxApp,
  type InfraInfo,
  paymentProviderEnv,
  type StartedApps,
  services,
  startApps,
} from '@reservex/local';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { serviceApp } from '../../../local/src/services.ts';

export const PASS_TOKEN_SECRET = 'edge-tests-pass-secret-0123456789abcdef';
export const ISSUER = 'reservex-account';
export const AUDIENCE = 'reservex';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  privateJwk: JWK;
}

export async function newSigningKey(kid = `test-${randomUUID()}`): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { kid, privateKey, privateJwk: { ...(await exportJWK(privateKey)), kid } };
}

/** An access token as account signs them, for any user, roles and lifetime. */
export async function mintAccessToken(
  key: Pick<SigningKey, 'kid' | 'privateKey'>,
  claims: { userId: string; roles?: string[]; issuedAt?: number; ttlSeconds?: number; alg?: string },
): Promise<string> {
  const iat = claims.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: claims.roles ?? ['USER'] })
    .setProtectedHeader({ alg: claims.alg ?? 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (claims.ttlSeconds ?? 900))
    .setJti(randomUUID())
    .sign(key.privateKey);
}

export interface EdgeOptions {
  signingKey: SigningKey;
  /** Extra apps of the system to start (the saga services for the journey). */
  with?: AppId[];
  env?: Partial<Record<AppId, Record<string, string>>>;
}

const edgeDefaults: Partial<Record<AppId, Record<string, string>>> = {
  gateway: {
    // Every test client is 127.0.0.1: the per-address limit would otherwise be the first thing hit.
    RATE_LIMIT_ADDRESS_PER_SECOND: '5000',
    RATE_LIMIT_ADDRESS_BURST: '5000',
    RATE_LIMIT_USER_PER_SECOND: '50',
    RATE_LIMIT_USER_BURST: '100',
  },
  queue: { PASS_TOKEN_SECRET, ADMISSION_RATE: '20', MAX_ACTIVE: '100', SSE_POLL_INTERVAL_MS: '200' },
  reservation: { PASS_TOKEN_SECRET, REQUIRE_PASS: 'true' },
};

export function edgeApp(appId: AppId, options: EdgeOptions): AppSpec<AppId> {
  const env: Record<string, string> = { ...edgeDefaults[appId], ...options.env?.[appId] };
  if (appId === 'account') env.JWT_SIGNING_KEYS = JSON.stringify([options.signingKey.privateJwk]);
  return serviceApp(services[appId], env);
}

/** The edge: account, gateway, queue, and inventory (a waiting room opens only for a show on sale). */
export async function startEdge(infra: InfraInfo, options: EdgeOptions): Promise<StartedApps<AppId>> {
  const ids = [...new Set<AppId>(['account', 'gateway', 'queue', 'inventory', ...(options.with ?? [])])];
  if (!ids.includes('payment')) return startApps({ infra, apps: ids.map((id) => edgeApp(id, options)) });
  // Payment charges cards at the card sandbox, which runs first so payment knows its address.
  const provider = await startApps({
    infra,
    apps: [
      cardSandboxApp({ database: `card_sandbox_${randomUUID().slice(0, 8)}`, env: { LOG_LEVEL: 'warn' } }),
    ],
  });
  const withProvider = {
    ...options,
    env: {
      ...options.env,
      payment: { ...paymentProviderEnv(provider.apps['card-sandbox']), ...options.env?.payment },
    },
  };
  try {
    const edge = await startApps({ infra, apps: ids.map((id) => edgeApp(id, withProvider)) });
    return {
      ...edge,
      stop: async () => {
        await edge.stop();
        await provider.stop();
      },
    };
  } catch (error) {
    await provider.stop();
    throw error;
  }
}

/**
 * A show on sale now, created through the gateway as an administrator (a token minted with the
 * ADMIN role), with one ticket type: its waiting room can be joined.
 */
export async function openShow(
  gateway: string,
  key: Pick<SigningKey, 'kid' | 'privateKey'>,
  ticketType: { capacity?: number; perOrderLimit?: number; perUserLimit?: number } = {},
): Promise<{ showId: string; ticketTypeId: string }> {
  const token = await mintAccessToken(key, {
    userId: `box-office-${randomUUID()}`,
    roles: ['USER', 'ADMIN'],
  });
  const now = Date.now();
  const response = await fetch(`${gateway}/api/v1/shows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: `Edge night ${randomUUID().slice(0, 8)}`,
      venue: 'Main hall',
      startsAt: new Date(now + 30 * 86_400_000).toISOString(),
      ticketTypes: [
        {
          name: 'Standing',
          priceMinor: 4500,
          currency: 'EUR',
          capacity: ticketType.capacity ?? 100,
          saleStartsAt: new Date(now - 60_000).toISOString(),
          perOrderLimit: ticketType.perOrderLimit ?? 4,
          ...(ticketType.perUserLimit === undefined ? {} : { perUserLimit: ticketType.perUserLimit }),
        },
      ],
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`creating a show answered ${response.status}: ${text}`);
  const show = JSON.parse(text) as { id: string; ticketTypes: { id: string }[] };
  return { showId: show.id, ticketTypeId: show.ticketTypes[0]!.id };
}

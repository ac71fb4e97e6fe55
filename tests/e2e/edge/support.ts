// The edge of the system as its acceptance tests see it: gateway, account and queue (and, for the
// journey, the saga services) on the real local stack, reached only through the gateway. Access
// tokens are signed by account with a key this file generates (JWT_SIGNING_KEYS), so tests can
// also mint tokens for many users, expired tokens, and forgeries, without a login each.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import { type AppSpec, type InfraInfo, type StartedApps, services, startApps } from '@reservex/local';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { expect } from 'vitest';
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
  queue: { PASS_TOKEN_SECRET, ADMISSION_RATE: '20', MAX_ACTIVE: '100', SSE_POLL_INTERVAL: '200' },
  reservation: { PASS_TOKEN_SECRET, REQUIRE_PASS: 'true' },
};

export function edgeApp(appId: AppId, options: EdgeOptions): AppSpec<AppId> {
  const env: Record<string, string> = { ...edgeDefaults[appId], ...options.env?.[appId] };
  if (appId === 'account') env.JWT_SIGNING_KEYS = JSON.stringify([options.signingKey.privateJwk]);
  const spec = serviceApp(services[appId], env);
  // The queue keeps its inbox in Postgres.
  return appId === 'queue' ? { ...spec, database: 'queue' } : spec;
}

export async function startEdge(infra: InfraInfo, options: EdgeOptions): Promise<StartedApps<AppId>> {
  const ids: AppId[] = ['account', 'gateway', 'queue', ...(options.with ?? [])];
  return startApps({ infra, apps: ids.map((id) => edgeApp(id, options)) });
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One call to the public API. `body` is sent as JSON unless it is a string (sent as is). */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if (/json/.test(response.headers.get('content-type') ?? '') && text) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** A problem+json answer with this status (and type slug, when given). */
export function expectProblem(response: ApiResponse, status: number, type?: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = response.body as { type?: unknown; status?: unknown; title?: unknown };
  expect(typeof body.type).toBe('string');
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  if (type) expect(body.type).toMatch(new RegExp(`/${type}$`));
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Reads an event stream until `done` says so, reconnecting when the server ends it (as EventSource
 * does), bounded by `timeoutMs`. Returns every event seen.
 */
export async function readEvents(
  url: string,
  token: string,
  done: (event: ServerSentEvent) => boolean,
  timeoutMs: number,
): Promise<ServerSentEvent[]> {
  const seen: ServerSentEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let connection = 0; connection < 1000 && Date.now() < deadline; connection++) {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffer += value;
        let boundary = buffer.indexOf('\n\n');
        while (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          const event: ServerSentEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event.event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          event.data = data.join('\n');
          seen.push(event);
          if (done(event)) return seen;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

/** Polls `probe` until it returns a value, bounded. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

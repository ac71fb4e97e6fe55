// Dapr's sentry, the certificate authority behind the sidecars' mTLS, as on Kubernetes. It makes a
// trust bundle per run (root and issuer in the run directory). Outside Kubernetes its default
// validator signs a certificate for any app id anyone asks for, so it runs the `jwks` validator
// instead: a sidecar proves its app id with a token whose subject is that app's SPIFFE id, signed by
// a key made per run that only the supervisor holds. A process with one app's token cannot obtain
// another app's certificate.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Restartable, restartable } from '../control.ts';
import { httpOk, waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';
import { IDENTITY } from './dapr-resources.ts';

/** sentry's own trust domain and namespace: daprd's defaults for the control plane. */
const CONTROL_PLANE = { trustDomain: 'localhost', namespace: 'default' } as const;

export interface SentryInfo {
  /** host:port of the sentry gRPC API (daprd's --sentry-address). */
  address: string;
  /** PEM root certificate of the run (daprd's DAPR_TRUST_ANCHORS). */
  trustAnchors: string;
  /** PEM private key the sidecar tokens are signed with (readable by the run's owner only). */
  tokenKeyFile: string;
  /** Where the per-app token files are written. */
  tokensDir: string;
}

/** The audience sentry's jwks validator requires: sentry's own SPIFFE id. */
export const SENTRY_AUDIENCE = `spiffe://${CONTROL_PLANE.trustDomain}/ns/${CONTROL_PLANE.namespace}/dapr-sentry`;

/** The SPIFFE id a sidecar of `appId` asks sentry for (trust domain `public` when it names none). */
export function spiffeIdOf(appId: string): string {
  return `spiffe://${IDENTITY.trustDomain}/ns/${IDENTITY.namespace}/${appId}`;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A token proving `appId` to sentry: an ES256 JWT with the app's SPIFFE id as subject. */
export function sentryToken(keyPem: string, appId: string, ttlSeconds = 7 * 86_400): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'run' }));
  const payload = base64url(
    JSON.stringify({
      sub: spiffeIdOf(appId),
      aud: SENTRY_AUDIENCE,
      iat: now,
      exp: now + ttlSeconds,
      jti: randomUUID(),
    }),
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: createPrivateKey(keyPem),
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${payload}.${base64url(signature)}`;
}

/** Writes the token file a sidecar of `appId` reads (DAPR_SENTRY_TOKEN_FILE) and returns its path. */
export function writeSentryToken(info: SentryInfo, appId: string): string {
  mkdirSync(info.tokensDir, { recursive: true, mode: 0o700 });
  const file = join(info.tokensDir, `${appId}.jwt`);
  writeFileSync(file, sentryToken(readFileSync(info.tokenKeyFile, 'utf8'), appId), { mode: 0o600 });
  return file;
}

/** The Configuration sentry reads: the jwks validator only (no `insecure` fallback). */
export function sentryConfiguration(jwksFile: string): Record<string, unknown> {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'daprsystem' },
    spec: {
      mtls: {
        enabled: true,
        workloadCertTTL: '24h',
        allowedClockSkew: '15m',
        tokenValidators: [{ name: 'jwks', options: { source: jwksFile } }],
      },
    },
  };
}

export async function startSentry(
  run: Run,
  binary: string,
  ports: { grpc: number; healthz: number },
): Promise<{ info: SentryInfo; process: Restartable }> {
  const dir = join(run.dir, 'sentry');
  const credentials = join(dir, 'credentials');
  mkdirSync(credentials, { recursive: true, mode: 0o700 });

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tokenKeyFile = join(dir, 'token-signing-key.pem');
  writeFileSync(tokenKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const jwksFile = join(dir, 'jwks.json');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'run', alg: 'ES256', use: 'sig' };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const configFile = join(dir, 'configuration.yaml');
  writeFileSync(configFile, stringify(sentryConfiguration(jwksFile)));

  const process = restartable(run, {
    spec: {
      name: 'sentry',
      command: binary,
      args: [
        '--config',
        configFile,
        '--issuer-credentials',
        credentials,
        '--trust-domain',
        CONTROL_PLANE.trustDomain,
        '--listen-address',
        '127.0.0.1',
        '--port',
        String(ports.grpc),
        '--healthz-listen-address',
        '127.0.0.1',
        '--healthz-port',
        String(ports.healthz),
        '--enable-metrics=false',
        '--log-level',
        'info',
      ],
    },
    ready: (started) =>
      waitUntil('sentry', () => httpOk(`http://127.0.0.1:${ports.healthz}/healthz`), {
        timeoutMs: 60_000,
        process: started,
      }),
  });
  await process.start();
  const info: SentryInfo = {
    address: `127.0.0.1:${ports.grpc}`,
    // Written by sentry on its first start: the run's own root of trust.
    trustAnchors: readFileSync(join(credentials, 'ca.crt'), 'utf8'),
    tokenKeyFile,
    tokensDir: join(dir, 'tokens'),
  };
  return { info, process };
}

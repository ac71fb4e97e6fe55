// Attacks from inside, on the real local stack with every boundary on: each is made as a compromised
// app would make it — with that app's own valid Dapr API token and identity — so what refuses it is
// the topic scope, the access control, the app token or sentry, not a missing credential.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, probeApp, type StartedApps, sentryToken, services, startApps } from '@reservex/local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const infra = inject('infra');
const suffix = randomUUID().slice(0, 8);
let stack: StartedApps<string>;

beforeAll(async () => {
  stack = await startApps({
    infra,
    apps: [
      ...(['ticket', 'query'] as const).map((appId) => ({
        appId,
        args: [services[appId].main],
        database: `${appId}_trust_${suffix}`,
        env: services[appId].env,
        logLevel: 'warn',
        readyTimeoutMs: 180_000,
      })),
      // The gateway's identity, for the allowed counterpart of the refused calls.
      { appId: 'gateway', args: [probeApp], readyTimeoutMs: 180_000 },
    ],
  });
}, 300_000);
afterAll(() => stack?.stop());

const app = (id: string) => stack.apps[id]!;

/** A call to `through`'s sidecar API with `through`'s own Dapr API token. */
function sidecar(
  through: string,
  path: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
) {
  return fetch(`${app(through).daprUrl}${path}`, {
    ...init,
    headers: { 'dapr-api-token': app(through).tokens.dapr, ...init.headers },
    signal: AbortSignal.timeout(15_000),
  });
}

const forged = (topic: string) => ({
  schemaVersion: 1,
  reservationId: randomUUID(),
  occurredAt: new Date().toISOString(),
  ...(topic === 'payment.completed'
    ? { paymentId: randomUUID(), amountMinor: 1, currency: 'EUR' }
    : { ticketIds: [randomUUID()] }),
});

describe('a compromised app publishing saga events it does not own', () => {
  it.each([
    ['query', 'payment.completed'],
    ['query', 'ticket.issued'],
    ['gateway', 'payment.completed'],
    ['ticket', 'payment.completed'],
  ])('%s’s sidecar refuses to publish %s, whose owner it is not', async (through, topic) => {
    const answer = await sidecar(through, `/v1.0/publish/${infra.dapr.components.pubsub}/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged(topic)),
    });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ errorCode: 'ERR_PUBSUB_FORBIDDEN' });
  });
});

describe('a compromised app speaking for a user', () => {
  it('is refused by the callee’s sidecar (403) when it is not the gateway; the gateway gets through', async () => {
    const ticket = `/v1.0/invoke/ticket/method/v1/tickets/${randomUUID()}`;
    const asUser = { 'x-user-id': `victim-${suffix}`, 'x-user-roles': 'USER,ADMIN' };
    const fromQuery = await sidecar('query', ticket, { headers: asUser });
    expect(fromQuery.status).toBe(403);
    // Dapr's own refusal (access control), not an answer of the ticket service.
    expect(await fromQuery.json()).toMatchObject({ errorCode: expect.stringMatching(/^ERR_/) });

    // The same call with the gateway's identity reaches the service, which answers for itself.
    const fromGateway = await sidecar('gateway', ticket, { headers: asUser });
    expect(fromGateway.status).toBe(404);
    expect(fromGateway.headers.get('content-type')).toContain('application/problem+json');
  });

  it('cannot reach operations outside the invocation table, even as the gateway', async () => {
    // Only query may ask ticket to publish one of its events again.
    const answer = await sidecar('gateway', '/v1.0/invoke/ticket/method/internal/replay', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: randomUUID(), topic: 'ticket.issued' }),
    });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ errorCode: expect.stringMatching(/^ERR_/) });
  });
});

describe('a process reaching an app port directly', () => {
  it('gets 401 without the app token its sidecar sends; the probes stay open', async () => {
    const headers = {
      'x-user-id': `victim-${suffix}`,
      'x-user-roles': 'USER',
      'dapr-caller-app-id': 'gateway',
    };
    for (const id of ['ticket', 'query']) {
      const direct = await fetch(`${app(id).url}/v1/tickets/${randomUUID()}`, { headers });
      expect(direct.status, id).toBe(401);
      expect(await direct.json()).toMatchObject({ type: expect.stringContaining('unauthorized') });
      expect((await fetch(`${app(id).url}/healthz`)).status, id).toBe(200);
    }
    // Another app's token is no better than none.
    const borrowed = await fetch(`${app('ticket').url}/v1/tickets/${randomUUID()}`, {
      headers: { ...headers, 'dapr-api-token': app('query').tokens.app },
    });
    expect(borrowed.status).toBe(401);
  });
});

describe('a process reaching a sidecar’s API', () => {
  it('gets 401 without that sidecar’s Dapr API token, or with another app’s', async () => {
    const publish = `${app('ticket').daprUrl}/v1.0/publish/${infra.dapr.components.pubsub}/ticket.issued`;
    const body = JSON.stringify(forged('ticket.issued'));
    for (const token of [undefined, app('query').tokens.dapr]) {
      const answer = await fetch(publish, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { 'dapr-api-token': token } : {}) },
        body,
      });
      expect(answer.status).toBe(401);
    }
    const invoke = await fetch(
      `${app('query').daprUrl}/v1.0/invoke/ticket/method/v1/tickets/${randomUUID()}`,
    );
    expect(invoke.status).toBe(401);
  });
});

describe('a process asking sentry for another app’s identity', () => {
  /** Starts a daprd as `appId` proving itself with `token`; resolves with its exit and output. */
  async function sidecarAs(appId: string, token: string): Promise<{ code: number | null; output: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'rx-impostor-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token);
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const child = spawn(
      infra.dapr.daprd,
      [
        ...['--app-id', appId, '--app-port', String(ports[0]), '--dapr-listen-addresses', '127.0.0.1'],
        ...['--dapr-http-port', String(ports[1]), '--dapr-grpc-port', String(ports[2])],
        ...['--dapr-internal-grpc-port', String(ports[3]), '--metrics-port', String(ports[4])],
        ...['--resources-path', infra.dapr.resourcesDir, '--config', infra.dapr.configFile],
        ...['--enable-mtls', '--sentry-address', infra.dapr.sentry.address, '--log-level', 'info'],
      ],
      {
        env: {
          PATH: process.env.PATH,
          DAPR_HOST_IP: '127.0.0.1',
          DAPR_TRUST_ANCHORS: infra.dapr.sentry.trustAnchors,
          DAPR_SENTRY_TOKEN_FILE: tokenFile,
        },
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output };
  }

  it('refuses a certificate for payment to a process holding query’s token', async () => {
    const queryToken = readFileSync(join(infra.dapr.sentry.tokensDir, 'query.jwt'), 'utf8');
    const { code, output } = await sidecarAs('payment', queryToken);
    expect(code).not.toBe(0);
    expect(output).toMatch(/token validation failed/);
  }, 90_000);

  it('refuses a token for payment signed by any key but the run’s', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forgedToken = sentryToken(
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'payment',
    );
    const { code, output } = await sidecarAs('payment', forgedToken);
    expect(code).not.toBe(0);
    expect(output).toMatch(/token validation failed/);
  }, 90_000);
});

// Attacks from inside, on the real local stack with every boundary on: each is made as a compromised
// app would make it — with that app's own valid Dapr API token and identity — so what refuses it is
// the topic scope, the access control, the app token or sentry, not a missing credential.
import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deliveredBy,
  eventKeysOf,
  freePort,
  probeApp,
  provision,
  type StartedApps,
  sentryToken,
  services,
  signedCloudEvent,
  startApps,
} from '@reservex/local';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const infra = inject('infra');
const suffix = randomUUID().slice(0, 8);
let stack: StartedApps<string>;

beforeAll(async () => {
  stack = await startApps({
    infra,
    apps: [
      ...(['ticket', 'query', 'reservation'] as const).map((appId) => ({
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

describe('someone writing saga events straight into Kafka, bypassing every sidecar', () => {
  const buyer = `buyer-${suffix}`;
  const showId = randomUUID();
  const ticketTypeId = randomUUID();

  /** Writes records into Kafka with the stack's own Kafka client jars: no Dapr, no scope, no token. */
  async function writeToKafka(records: { topic: string; key: string; value: unknown }[]) {
    const { java, kafkaLibs } = await provision();
    const child = execFile(
      java,
      ['-cp', `${kafkaLibs}/*`, join(import.meta.dirname, 'broker/KafkaWrite.java'), infra.kafka.brokers],
      { timeout: 120_000 },
    );
    child.stdin!.end(
      records.map(({ topic, key, value }) => `${topic}\t${key}\t${JSON.stringify(value)}\n`).join(''),
    );
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
  }

  /** A PENDING reservation of the buyer's, as the reservation service holds one before any step. */
  async function pendingReservation(): Promise<string> {
    const id = randomUUID();
    const sql = postgres(app('reservation').env.DATABASE_URL!, { max: 1 });
    try {
      await sql.begin(async (tx) => {
        await tx`insert into reservations (id, user_id, show_id, ticket_type_id, quantity, hold_expires_at)
                 values (${id}, ${buyer}, ${showId}, ${ticketTypeId}, 1, now() + interval '30 minutes')`;
        await tx`insert into reservation_transitions (reservation_id, seq, status, cause)
                 values (${id}, 1, 'PENDING', 'request')`;
      });
    } finally {
      await sql.end();
    }
    return id;
  }

  const statusOf = async (reservationId: string) => {
    const answer = await fetch(`${app('reservation').url}/v1/reservations/${reservationId}`, {
      headers: { ...deliveredBy(app('reservation')), 'x-user-id': buyer, 'x-user-roles': 'USER' },
    });
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { status: string }).status;
  };

  /** What an operator sees: query's dead-letter listing, as the gateway asks it for an admin. */
  const deadLetters = async () => {
    const answer = await fetch(`${app('query').url}/v1/admin/dead-letters?limit=100`, {
      headers: { ...deliveredBy(app('query')), 'x-user-id': `ops-${suffix}`, 'x-user-roles': 'USER,ADMIN' },
    });
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { items: { cloudEventId: string; reason: string | null }[] }).items;
  };

  /** The reasons the reservation service itself recorded for the events it refused. */
  const refusedByReservation = async (eventIds: string[]) => {
    const sql = postgres(app('reservation').env.DATABASE_URL!, { max: 1 });
    try {
      return await sql<{ event_id: string; reason: string }[]>`
        select event_id, reason from refused_events where event_id = any(${eventIds})`;
    } finally {
      await sql.end();
    }
  };

  const facts = (reservationId: string) => ({
    schemaVersion: 1,
    reservationId,
    occurredAt: new Date().toISOString(),
    userId: buyer,
    showId,
    ticketTypeId,
    quantity: 1,
  });
  // Correct amounts, as a real capture of this reservation would say (the attacker read them off Kafka).
  const completed = (reservationId: string) => ({
    ...facts(reservationId),
    paymentId: randomUUID(),
    amountMinor: 5000,
    currency: 'EUR',
  });
  const issued = (reservationId: string) => ({ ...facts(reservationId), ticketIds: [randomUUID()] });
  const cloudEvent = (topic: string, data: unknown, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: randomUUID(),
    source: topic.split('.')[0],
    type: topic,
    datacontenttype: 'application/json',
    data,
    ...extra,
  });

  it('refuses unsigned, wrongly signed and replayed events by their signature; dead-letters them with the reason; the reservation does not move', async () => {
    const victim = await pendingReservation();
    // A reservation of another booking, which this service does not hold.
    const other = randomUUID();
    const keys = eventKeysOf(infra.runDir);
    // Genuinely signed by payment, for the other reservation: a real event the attacker replays.
    const genuine = signedCloudEvent(keys.payment, 'payment', 'payment.completed', completed(other));
    const forgeries = {
      // Correct amounts and facts, no signature.
      unsigned: cloudEvent('payment.completed', completed(victim)),
      unsignedTickets: cloudEvent('ticket.issued', issued(victim)),
      // Signed, but by ticket's key: not the owner of payment.completed.
      byAnotherService: signedCloudEvent(keys.ticket, 'payment', 'payment.completed', completed(victim)),
      // The genuine event for another reservation, its facts rewritten for the victim.
      forAnotherReservation: { ...genuine, id: randomUUID(), data: completed(victim) },
      // The genuine event on another topic.
      onAnotherTopic: genuine,
    };
    await writeToKafka([
      { topic: 'payment.completed', key: victim, value: forgeries.unsigned },
      { topic: 'ticket.issued', key: victim, value: forgeries.unsignedTickets },
      { topic: 'payment.completed', key: victim, value: forgeries.byAnotherService },
      { topic: 'payment.completed', key: victim, value: forgeries.forAnotherReservation },
      { topic: 'payment.failed', key: other, value: forgeries.onAnotherTopic },
    ]);
    const ids = Object.values(forgeries).map((event) => event.id as string);

    // Each is dead-lettered, and the operator's listing says why (query refused them itself).
    await expect
      .poll(
        async () =>
          Object.fromEntries(
            (await deadLetters())
              .filter((letter) => ids.includes(letter.cloudEventId))
              .map((letter) => [letter.cloudEventId, letter.reason]),
          ),
        { timeout: 90_000, interval: 500 },
      )
      .toEqual({
        [forgeries.unsigned.id]: 'unsigned: payment.completed must carry the signature of payment',
        [forgeries.unsignedTickets.id]: 'unsigned: ticket.issued must carry the signature of ticket',
        [forgeries.byAnotherService.id as string]: expect.stringMatching(
          /^bad signature: not signed by payment/,
        ),
        [forgeries.forAnotherReservation.id]: expect.stringMatching(/^bad signature: not signed by payment/),
        [genuine.id as string]: expect.stringMatching(
          /^bad signature: not signed by payment \(the owner of payment\.failed\)/,
        ),
      });
    // The reservation service (it consumes all these topics) refused them by their signature too,
    // and recorded why.
    await expect
      .poll(async () => (await refusedByReservation(ids)).length, { timeout: 60_000 })
      .toBe(ids.length);
    for (const { reason } of await refusedByReservation(ids))
      expect(reason).toMatch(/^(unsigned|bad signature)/);

    // The victim did not move: not paid, not confirmed, not cancelled by the dead letters either.
    expect(await statusOf(victim)).toBe('PENDING');
  }, 180_000);
});

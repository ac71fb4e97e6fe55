// The booking saga's services as they run — each its own process with its own daprd, on the stack's
// real Kafka, Redis, Postgres and Jaeger — and what a buyer, an admin and an operator do with them.
// Every call goes to a service's port as its sidecar would deliver it when the gateway invokes it: the
// app API token of that service, the gateway as calling app, and the identity headers the gateway
// sets for an authenticated user.
import { randomUUID } from 'node:crypto';
import {
  type AppSpec,
  cardSandboxApp,
  type InfraInfo,
  paymentProviderEnv,
  publishAs,
  type StartedApps,
  services,
  startApps,
} from '@reservex/local';
import { SignJWT } from 'jose';
import { expect, vi } from 'vitest';

export const sagaApps = ['inventory', 'reservation', 'payment', 'ticket', 'query'] as const;
export type SagaApp = (typeof sagaApps)[number];

/** Shared with the queue in a real deployment; here the tests sign passes as the queue would. */
export const PASS_TOKEN_SECRET = 'e2e-pass-secret-of-at-least-32-characters';

export type SagaStackOptions = {
  infra: InfraInfo;
  /** Service-specific environment on top of the registry's. */
  env?: Partial<Record<SagaApp, Record<string, string>>>;
  /** Environment of the card sandbox payment charges (e.g. SANDBOX_SLOW_MS for the slow test card). */
  cardSandboxEnv?: Record<string, string>;
  /** Further apps started alongside (e.g. a test's own subscriber). */
  extraApps?: AppSpec[];
};

export type SagaStack = Awaited<ReturnType<typeof startSagaStack>>;

export async function startSagaStack(options: SagaStackOptions) {
  // Databases of their own, so nothing another suite left behind is seen here.
  const suffix = randomUUID().slice(0, 8);
  // The card provider first: payment is configured with its address and API key.
  const provider = await startApps({
    infra: options.infra,
    apps: [
      cardSandboxApp({
        database: `card_sandbox_${suffix}`,
        env: { LOG_LEVEL: 'warn', ...options.cardSandboxEnv },
      }),
    ],
  });
  const cardSandbox = provider.apps['card-sandbox'];
  const specs: AppSpec[] = sagaApps.map((appId) => ({
    appId,
    args: [services[appId].main],
    database: `${appId}_${suffix}`,
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
    env: {
      ...services[appId].env,
      ...(appId === 'reservation' ? { PASS_TOKEN_SECRET, REQUIRE_PASS: 'true' } : {}),
      ...(appId === 'payment' ? paymentProviderEnv(cardSandbox) : {}),
      ...options.env?.[appId],
    },
  }));
  let stack: StartedApps<string>;
  try {
    stack = await startApps({ infra: options.infra, apps: [...specs, ...(options.extraApps ?? [])] });
  } catch (error) {
    await provider.stop();
    throw error;
  }
  const url = (app: SagaApp) => stack.apps[app]!.url;
  for (const app of sagaApps) {
    sidecarHeaders.set(new URL(url(app)).origin, {
      'dapr-api-token': stack.apps[app]!.tokens.app,
      'dapr-caller-app-id': 'gateway',
    });
  }
  const admin = adminOf(url);
  return {
    stack,
    cardSandbox,
    /** The card sandbox's ledger of one reservation: every charge recorded for it, with its refund. */
    async providerLedger(reservationId: string) {
      const answer = await http(`${cardSandbox.url}/v1/charges?reference=${reservationId}`, {
        headers: { authorization: `Bearer ${cardSandbox.env.SANDBOX_API_KEY}` },
      });
      expect(answer.status).toBe(200);
      return answer.body.items as { id: string; status: string; amountMinor: number; refund: unknown }[];
    },
    url,
    daprUrl: (app: string) => stack.apps[app]!.daprUrl,
    /** Publishes as `app` would: through its own sidecar, with its Dapr API token. */
    publishAs: (app: SagaApp, topic: string, body: unknown, metadata: Record<string, string>) =>
      publishAs(stack.apps[app]!, options.infra.dapr.components.pubsub, topic, body, metadata),
    admin,
    buyer: (userId = `buyer-${randomUUID()}`) => buyerOf(url, userId),
    /**
     * The first saga after start-up waits for every consumer group to join; run sagas until one is
     * confirmed (bounded) so the tests measure the saga, not Kafka's group rebalancing.
     */
    async warmUp(timeoutMs = 120_000) {
      const show = await admin.createShow({ capacity: 20 });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const buyer = buyerOf(url, `warm-up-${randomUUID()}`);
        // A saga still open after 30 s is not an answer yet: try another.
        const outcome = await buyer.outcome(await buyer.book(show), 30_000).catch(() => undefined);
        if (outcome?.status === 'CONFIRMED') return;
        if (Date.now() > deadline) throw new Error(`no saga confirmed within ${timeoutMs} ms of start-up`);
      }
    },
    async stop() {
      await stack.stop();
      await provider.stop();
    },
  };
}

// --- HTTP -----------------------------------------------------------------------------------------

export type Answer = {
  status: number;
  type: string | null;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are asserted field by field.
  body: any;
};

/** Service origin → what its sidecar sends along (filled by startSagaStack). */
const sidecarHeaders = new Map<string, Record<string, string>>();

export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      'content-type': 'application/json',
      ...sidecarHeaders.get(new URL(url).origin),
      ...init.headers,
    },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    headers: response.headers,
    body,
  };
}

// --- admin ----------------------------------------------------------------------------------------

const adminHeaders = { 'x-user-id': 'e2e-admin', 'x-user-roles': 'USER,ADMIN' };

export type Show = { showId: string; ticketTypeId: string; priceMinor: number };

function adminOf(url: (app: SagaApp) => string) {
  return {
    async createShow(options: {
      capacity: number;
      perOrderLimit?: number;
      priceMinor?: number;
      title?: string;
    }): Promise<Show> {
      const priceMinor = options.priceMinor ?? 4500;
      const created = await http(`${url('inventory')}/v1/shows`, {
        method: 'POST',
        headers: adminHeaders,
        body: {
          title: options.title ?? `E2E show ${randomUUID().slice(0, 8)}`,
          venue: 'Loopback Arena',
          startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          ticketTypes: [
            {
              name: 'General admission',
              priceMinor,
              currency: 'EUR',
              capacity: options.capacity,
              saleStartsAt: new Date(Date.now() - 60_000).toISOString(),
              perOrderLimit: options.perOrderLimit ?? 4,
            },
          ],
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return { showId: created.body.id, ticketTypeId: created.body.ticketTypes[0].id, priceMinor };
    },

    async stock(
      showId: string,
    ): Promise<{ capacity: number; available: number; held: number; sold: number }> {
      const answer = await http(`${url('inventory')}/v1/shows/${showId}/stock`, { headers: adminHeaders });
      expect(answer.status).toBe(200);
      return answer.body.stock[0];
    },

    /** Ticket issuing fails for this show until unlocked (the ticket service's fault switch). */
    async lockIssuing(showId: string) {
      const answer = await http(`${url('ticket')}/v1/admin/issuing-locks/${showId}`, {
        method: 'PUT',
        headers: adminHeaders,
      });
      expect(answer.status).toBe(204);
    },

    async deadLetters(): Promise<
      { id: string; reservationId: string | null; originalTopic: string | null }[]
    > {
      const answer = await http(`${url('query')}/v1/admin/dead-letters?limit=100`, { headers: adminHeaders });
      expect(answer.status).toBe(200);
      return answer.body.items;
    },

    replayDeadLetter(id: string) {
      return http(`${url('query')}/v1/admin/dead-letters/${id}/replay`, {
        method: 'POST',
        headers: adminHeaders,
      });
    },
  };
}

// --- buyer ----------------------------------------------------------------------------------------

/** A pass for `userId` to book `showId`, signed as the waiting room signs it. */
export async function mintPass(userId: string, showId: string, ttlSeconds = 300): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ show: showId, typ: 'pass' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(PASS_TOKEN_SECRET));
}

export const finalStatuses = ['CONFIRMED', 'CANCELLED'];

const sagaOrder = ['PENDING', 'AWAITING_PAYMENT', 'AWAITING_TICKETS', 'CONFIRMED'];

/**
 * A history that starts PENDING, only moves forward and ends in `end`, each status once. Steps may be
 * skipped: ticket.issued can overtake payment.completed (different topics), and then implies it.
 */
export function expectForwardTo(
  transitions: { status: string; seq: number }[],
  end: 'CONFIRMED' | 'CANCELLED',
) {
  const statuses = transitions.map((t) => t.status);
  expect(statuses[0]).toBe('PENDING');
  expect(statuses.at(-1)).toBe(end);
  expect(transitions.map((t) => t.seq)).toEqual(statuses.map((_, i) => i + 1));
  const open = statuses.filter((s) => s !== 'CANCELLED').map((s) => sagaOrder.indexOf(s));
  expect(open.every((rank, i) => rank >= 0 && (i === 0 || rank > open[i - 1]!))).toBe(true);
}

export type Buyer = ReturnType<typeof buyerOf>;

function buyerOf(url: (app: SagaApp) => string, userId: string) {
  const headers = { 'x-user-id': userId, 'x-user-roles': 'USER' };
  const buyer = {
    userId,

    async reserve(
      show: Pick<Show, 'showId' | 'ticketTypeId'>,
      options: { quantity?: number; card?: string } = {},
    ) {
      return http(`${url('reservation')}/v1/reservations`, {
        method: 'POST',
        headers: {
          ...headers,
          'idempotency-key': randomUUID(),
          'x-pass-token': await mintPass(userId, show.showId),
        },
        body: {
          showId: show.showId,
          ticketTypeId: show.ticketTypeId,
          quantity: options.quantity ?? 1,
          paymentMethod: { token: options.card ?? 'tok_success' },
        },
      });
    },

    /** Places a reservation that must be accepted, and returns its id. */
    async book(
      show: Pick<Show, 'showId' | 'ticketTypeId'>,
      options: { quantity?: number; card?: string } = {},
    ) {
      const placed = await buyer.reserve(show, options);
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      return placed.body.id as string;
    },

    async reservation(id: string) {
      return (await http(`${url('reservation')}/v1/reservations/${id}`, { headers })).body;
    },

    /** The reservation once its saga has ended; fails with its status when the time is up. */
    async outcome(id: string, timeoutMs = 60_000) {
      return vi.waitFor(
        async () => {
          const reservation = await buyer.reservation(id);
          expect(finalStatuses).toContain(reservation?.status);
          return reservation;
        },
        { timeout: timeoutMs, interval: 250 },
      );
    },

    cancel(id: string) {
      return http(`${url('reservation')}/v1/reservations/${id}/cancel`, { method: 'POST', headers });
    },

    /** The read model's details (query service). */
    async details(id: string) {
      return http(`${url('query')}/v1/reservations/${id}`, { headers });
    },

    async payment(id: string) {
      return http(`${url('payment')}/v1/payments/${id}`, { headers });
    },

    async ticket(ticketId: string) {
      return http(`${url('ticket')}/v1/tickets/${ticketId}`, { headers });
    },
  };
  return buyer;
}

// --- traces ---------------------------------------------------------------------------------------

export type JaegerSpan = {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  tags: { key: string; value: unknown }[];
};
export type JaegerTrace = {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
};

export async function jaegerTrace(infra: InfraInfo, traceId: string): Promise<JaegerTrace | undefined> {
  const answer = await http(`${infra.jaeger.uiUrl}/api/traces/${traceId}`);
  return answer.status === 200 ? (answer.body.data?.[0] as JaegerTrace | undefined) : undefined;
}

/** Service name of every span of a trace that carries `reservation.id` = id, with its `saga.step`. */
export function sagaSpans(trace: JaegerTrace, reservationId: string) {
  return trace.spans
    .filter((span) => span.tags.some((t) => t.key === 'reservation.id' && t.value === reservationId))
    .map((span) => ({
      service: trace.processes[span.processID]?.serviceName,
      step: span.tags.find((t) => t.key === 'saga.step')?.value as string | undefined,
      operation: span.operationName,
    }));
}

// ReserveX as the bench drives it: inventory, reservation, payment, ticket and query, each with its
// daprd, against the run's infrastructure. Bookings go to reservation's port as the gateway's call
// would reach it; completion is read in the query service. The waiting room is not in the loop: the
// bench mints each buyer's pass with PASS_TOKEN_SECRET, acting as the queue service.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type AppHandle,
  type AppSpec,
  cardSandboxApp,
  databaseUrl,
  freePort,
  paymentProviderEnv,
  sandboxAddress,
  services,
  startApps,
  type startInfra,
} from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import { asGatewayCall, benchAdmin, createBenchShow } from './allocation.ts';
import { OUTSIDE, type Running, type Show, type Stock } from './drive.ts';
import type { Strategy } from './flags.ts';

type Infra = Awaited<ReturnType<typeof startInfra>>;
export type SagaApp = 'inventory' | 'reservation' | 'payment' | 'ticket' | 'query';
export const sagaApps: SagaApp[] = ['inventory', 'reservation', 'payment', 'ticket', 'query'];

/** The queue service's pass: an HS256 JWT { sub, show, jti, iat, exp, typ: 'pass' }. */
function mintPass(secret: string, userId: string, showId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: userId, show: showId, jti: randomUUID(), iat: now, exp: now + 900, typ: 'pass' })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/**
 * What the driver does through the saga apps' ports, as the gateway's calls reach them: book at
 * reservation (`booking` adds what a booking carries), read the booking back in query, the stock in
 * inventory; and the processes whose CPU the system spends.
 */
export function sagaCalls(
  infra: Infra,
  apps: Record<SagaApp, AppHandle>,
  booking: (userId: string, show: Show) => { headers: Record<string, string>; body: object },
): Pick<Running, 'book' | 'settled' | 'stock' | 'processes'> {
  const { inventory, reservation, query } = apps;
  return {
    async book(userId, show) {
      const { headers, body } = booking(userId, show);
      const response = await fetch(`${reservation.url}/v1/reservations`, {
        method: 'POST',
        headers: {
          ...asGatewayCall(reservation, { id: userId }),
          'idempotency-key': randomUUID(),
          ...headers,
        },
        body: JSON.stringify({ ...show, quantity: 1, ...body }),
      });
      if (response.status !== 201)
        return { error: `${response.status} ${(await response.text()).slice(0, 200)}` };
      return { id: ((await response.json()) as { id: string }).id };
    },
    async settled(userId, reservationId) {
      const response = await fetch(`${query.url}/v1/reservations/${reservationId}`, {
        headers: asGatewayCall(query, { id: userId }),
      });
      if (response.status !== 200) {
        await response.arrayBuffer();
        return undefined;
      }
      const details = (await response.json()) as { status: string; failure?: { reason: string } | null };
      if (details.status !== 'CONFIRMED' && details.status !== 'CANCELLED') return undefined;
      return { status: details.status, reason: details.failure?.reason ?? null };
    },
    async stock(show) {
      const response = await fetch(`${inventory.url}/v1/shows/${show.showId}/stock`, {
        headers: asGatewayCall(inventory, benchAdmin),
      });
      if (response.status !== 200) {
        await response.arrayBuffer();
        return undefined;
      }
      return ((await response.json()) as { stock: Stock[] }).stock[0];
    },
    processes: () => ({
      ...Object.fromEntries(
        sagaApps.flatMap((app) => [
          [app, apps[app].pid()],
          [`${app} daprd`, apps[app].sidecar?.pid()],
        ]),
      ),
      kafka: infra.processes.kafka.pid(),
      postgres: infra.processes.postgres.pid(),
      redis: infra.processes.redis.pid(),
      jaeger: infra.processes.jaeger.pid(),
    }),
  };
}

export type ReserveX = Running & {
  /** Tickets valid and payments captured for a show: they must match the sold stock. */
  issued(show: Show): Promise<{ validTickets: number; capturedPayments: number }>;
};

export async function startReserveX(
  infra: Infra,
  strategy: Strategy,
  print: (line: string) => void,
  /** Each service writes a V8 CPU profile under `<cpuProf>/<app>/` when it exits. */
  cpuProf?: string,
): Promise<ReserveX> {
  const secret = randomBytes(32).toString('base64url');
  // The card provider payment charges: a stand-in for an outside service, started beside the saga.
  const sandbox = cardSandboxApp({ port: await freePort() });
  const env: Record<SagaApp, Record<string, string>> = {
    inventory: { INVENTORY_STRATEGY: strategy },
    reservation: { REQUIRE_PASS: 'true', PASS_TOKEN_SECRET: secret, HOLD_TTL_SECONDS: '600' },
    payment: paymentProviderEnv(sandboxAddress(sandbox)),
    ticket: {},
    query: {},
  };
  const specs: AppSpec<SagaApp>[] = sagaApps.map((appId) => ({
    appId,
    args: [
      ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProf, appId)}`] : []),
      services[appId].main,
    ],
    database: appId,
    env: { ...services[appId].env, ...env[appId] },
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
  }));
  print(`\n[bench] ReserveX (${strategy}): starting ${sagaApps.join(', ')} with their sidecars`);
  const started = await startApps({ infra: infra.info, apps: [...specs, sandbox] });
  const calls = sagaCalls(infra, started.apps, (userId, show) => ({
    headers: { 'x-pass-token': mintPass(secret, userId, show.showId) },
    body: { paymentMethod: { token: 'tok_success' } },
  }));
  const count = async (app: SagaApp, statement: string, showId: string) => {
    const database = createDatabase(databaseUrl(infra.info.postgres, app), {}, { max: 1 });
    try {
      const [row] = await database.sql.unsafe(statement, [showId]);
      return Number(row?.n ?? Number.NaN);
    } finally {
      await database.close();
    }
  };
  return {
    createShow: (title, capacity) => createBenchShow(started.apps.inventory, title, capacity),
    ...calls,
    processes: () => ({
      ...calls.processes(),
      [`${OUTSIDE}card sandbox`]: started.apps['card-sandbox'].pid(),
    }),
    async issued(show) {
      return {
        validTickets: await count(
          'ticket',
          `select count(*) as n from tickets where show_id = $1 and status = 'valid'`,
          show.showId,
        ),
        capturedPayments: await count(
          'payment',
          `select count(*) as n from payments where show_id = $1 and status = 'captured'`,
          show.showId,
        ),
      };
    },
    stop: () => started.stop(),
  };
}

// The allocation step on its own: how fast inventory turns reservation.created into stock.reserved /
// stock.failed for one hot ticket type, per strategy. A backlog of R requests (one ticket each) for
// T tickets is published to Kafka while inventory is stopped; inventory is then started and drains
// it through its sidecar, exactly as in production. The rate is measured in inventory's own
// database: answers written to its outbox / time from the first answer to the last. Nothing else of
// the saga runs, so the figure is the allocation step's, not the pipeline's.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AppHandle,
  databaseUrl,
  services,
  signedCloudEvent,
  startApps,
  type startInfra,
} from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';

type Infra = Awaited<ReturnType<typeof startInfra>>;

import type { Strategy } from './flags.ts';

export type { Strategy };

export type AllocationResult = {
  strategy: Strategy;
  requests: number;
  tickets: number;
  answered: number;
  reserved: number;
  failed: number;
  /** Database transactions that decided the requests (distinct transaction start times). */
  transactions: number;
  durationS: number;
  perSecond: number;
  stock: { capacity: number; available: number; held: number; sold: number };
  balanced: boolean;
  oversell: number;
};

const probe = fileURLToPath(new URL('../../local/src/test-apps/probe.ts', import.meta.url));
/**
 * What a service's sidecar delivers when the gateway invokes it: the service's app API token and the
 * gateway as calling app. The bench calls the services' ports directly with these, as a real caller
 * would reach them, and the identity headers the gateway sets for an authenticated user.
 */
export function asGatewayCall(app: Pick<AppHandle, 'tokens'>, user: { id: string; roles?: string }) {
  return {
    'content-type': 'application/json',
    'dapr-api-token': app.tokens.app,
    'dapr-caller-app-id': 'gateway',
    'x-user-id': user.id,
    'x-user-roles': user.roles ?? 'USER',
  };
}
export const benchAdmin = { id: 'bench-admin', roles: 'USER,ADMIN' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A show with one ticket type of `capacity`, on sale now, one ticket per order, through inventory's API. */
export async function createBenchShow(
  inventory: Pick<AppHandle, 'url' | 'tokens'>,
  title: string,
  capacity: number,
) {
  const created = await fetch(`${inventory.url}/v1/shows`, {
    method: 'POST',
    headers: asGatewayCall(inventory, benchAdmin),
    body: JSON.stringify({
      title,
      venue: 'Benchmark hall',
      startsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      ticketTypes: [
        {
          name: 'General admission',
          priceMinor: 5000,
          currency: 'EUR',
          capacity,
          saleStartsAt: new Date(Date.now() - 60_000).toISOString(),
          perOrderLimit: 1,
        },
      ],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  if (created.status !== 201)
    throw new Error(`creating a show failed: ${created.status} ${await created.text()}`);
  const show = (await created.json()) as { id: string; ticketTypes: { id: string }[] };
  return { showId: show.id, ticketTypeId: show.ticketTypes[0]!.id };
}

export async function allocationRound(
  infra: Infra,
  strategy: Strategy,
  options: {
    requests: number;
    tickets: number;
    timeoutMs: number;
    print: (line: string) => void;
    /** Inventory writes a V8 CPU profile under `<cpuProf>/allocation-<strategy>/` when it exits. */
    cpuProf?: string | undefined;
  },
): Promise<AllocationResult> {
  const { requests, tickets, print } = options;
  const database = `bench_alloc_${strategy}_${randomUUID().slice(0, 8)}`;
  const inventorySpec = {
    appId: 'inventory' as const,
    args: [
      ...(options.cpuProf
        ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.cpuProf, `allocation-${strategy}`)}`]
        : []),
      services.inventory.main,
    ],
    database,
    env: { ...services.inventory.env, INVENTORY_STRATEGY: strategy },
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
  };

  // 1. The show, through inventory's API; then inventory and its sidecar stop so the requests pile
  // up. The stack's consumer group stays where it is (at the end of the topic), so the restarted
  // sidecar takes up exactly the backlog.
  print(`\n[bench] allocation ${strategy}: creating a ticket type of ${tickets}`);
  const started = await startApps({ infra: infra.info, apps: [inventorySpec] });
  const inventory = started.apps.inventory;
  try {
    const { showId, ticketTypeId } = await createBenchShow(inventory, `Allocation (${strategy})`, tickets);
    await inventory.stop();
    await inventory.sidecar?.stop();

    // 2. The backlog, published through a sidecar of its own (bulk publish, keyed by reservation).
    print(
      `[bench] allocation ${strategy}: publishing ${requests} reservation.created while inventory is stopped`,
    );
    const publisher = await startApps({
      infra: infra.info,
      // Published as the topic's owner: only reservation may publish reservation.created.
      apps: [{ appId: 'reservation', args: [probe] }],
    });
    const signingKey = publisher.apps.reservation.env.EVENT_SIGNING_KEY;
    if (!signingKey) throw new Error('the publisher has no signing key for reservation');
    try {
      const chunk = 500;
      for (let offset = 0; offset < requests; offset += chunk) {
        const entries = Array.from({ length: Math.min(chunk, requests - offset) }, (_, i) => {
          const reservationId = randomUUID();
          // Signed as reservation signs it: inventory refuses an unsigned reservation.created.
          return {
            entryId: String(i),
            contentType: 'application/cloudevents+json',
            metadata: { partitionKey: reservationId },
            event: signedCloudEvent(signingKey, 'reservation', 'reservation.created', {
              schemaVersion: 1,
              reservationId,
              userId: `bench-${offset + i}`,
              showId,
              ticketTypeId,
              quantity: 1,
              paymentMethod: { token: 'tok_success' },
              holdExpiresAt: new Date(Date.now() + 600_000).toISOString(),
              occurredAt: new Date().toISOString(),
            }),
          };
        });
        const url = `${publisher.apps.reservation.daprUrl}/v1.0-alpha1/publish/bulk/${infra.info.dapr.components.pubsub}/reservation.created`;
        const answer = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'dapr-api-token': publisher.apps.reservation.tokens.dapr,
          },
          body: JSON.stringify(entries),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await answer.text();
        const failed = text ? ((JSON.parse(text) as { failedEntries?: unknown[] }).failedEntries ?? []) : [];
        if (!answer.ok || failed.length > 0)
          throw new Error(`bulk publish failed: ${answer.status} ${text.slice(0, 300)}`);
      }
    } finally {
      await publisher.stop();
    }

    // 3. Inventory drains the backlog; its database says when each answer was written.
    print(`[bench] allocation ${strategy}: starting inventory to drain the backlog`);
    await inventory.restart();
    await inventory.sidecar?.restart();
    const db = createDatabase(databaseUrl(infra.info.postgres, database), {}, { max: 1 });
    try {
      const deadline = Date.now() + options.timeoutMs;
      let answered = 0;
      let shown = -1;
      while (Date.now() < deadline) {
        const [row] =
          await db.sql`select count(*)::int as n from holds where ticket_type_id = ${ticketTypeId} and status in ('HELD', 'REJECTED')`;
        answered = row!.n as number;
        if (answered !== shown && (answered - shown >= requests / 5 || answered >= requests)) {
          print(`[bench] allocation ${strategy}: ${answered}/${requests} decided`);
          shown = answered;
        }
        if (answered >= requests) break;
        await sleep(200);
      }
      const [timing] = await db.sql`
      select count(*)::int as answered,
             count(*) filter (where topic = 'stock.reserved')::int as reserved,
             count(*) filter (where topic = 'stock.failed')::int as failed,
             extract(epoch from max(created_at) - min(created_at))::float8 as seconds
        from outbox where payload->>'ticketTypeId' = ${ticketTypeId}`;
      const [decisions] = await db.sql`
      select count(distinct created_at)::int as n from holds where ticket_type_id = ${ticketTypeId}`;
      const [stock] = await db.sql`
      select capacity, available, held, sold from ticket_types where id = ${ticketTypeId}`;
      const s = stock as { capacity: number; available: number; held: number; sold: number };
      const durationS = Number(timing!.seconds);
      const result: AllocationResult = {
        strategy,
        requests,
        tickets,
        answered: timing!.answered as number,
        reserved: timing!.reserved as number,
        failed: timing!.failed as number,
        transactions: decisions!.n as number,
        durationS,
        perSecond: (timing!.answered as number) / durationS,
        stock: s,
        balanced: s.capacity === s.available + s.held + s.sold,
        oversell: Math.max(0, (timing!.reserved as number) - tickets, s.held + s.sold - s.capacity),
      };
      print(`[bench] allocation ${strategy}: ${JSON.stringify(result)}`);
      return result;
    } finally {
      await db.close();
    }
  } finally {
    await started.stop();
  }
}

export function allocationReport(results: AllocationResult[], baseline: Strategy): string[] {
  const base = results.find((r) => r.strategy === baseline);
  const rows = results.map(
    (r) =>
      `| ${r.strategy} | ${r.answered}/${r.requests} | ${r.reserved} | ${r.failed} | ${r.transactions} | ${r.durationS.toFixed(2)} s | ${r.perSecond.toFixed(0)} | ${
        base ? `×${(r.perSecond / base.perSecond).toFixed(2)}` : 'n/a'
      } | ${r.oversell} | ${r.stock.capacity}/${r.stock.available}/${r.stock.held}/${r.stock.sold} (${r.balanced ? 'yes' : 'NO'}) |`,
  );
  return [
    '## Allocation step',
    '',
    `${results[0]?.requests ?? 0} reservation.created (one ticket each) for ${results[0]?.tickets ?? 0} tickets of one ticket type, ` +
      'published while inventory is stopped, then drained by inventory and its daprd (Kafka bulk or single deliveries, ' +
      'Postgres). Rate: answers (stock.reserved + stock.failed) written / time from the first answer to the last, read ' +
      'from inventory’s outbox. Transactions: distinct transaction start times of the decisions.',
    '',
    `| strategy | answered | reserved | failed | transactions | drain time | answers/s | vs ${baseline} | oversell | capacity/available/held/sold (balanced) |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

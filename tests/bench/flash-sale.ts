// Flash-sale benchmark against the real local stack (Kafka, Postgres, Redis, each service with its
// daprd), per inventory strategy — the default (batched), atomic, and the pessimistic row-lock
// baseline — in the same run, with ratios against the baseline. Two stages:
//
// - allocation: inventory alone drains a backlog of reservation.created for one hot ticket type
//   (see allocation.ts): answers/s of the allocation step itself;
// - flash sale: N buyers race for M tickets through the whole saga (inventory, reservation,
//   payment, ticket, query): confirmed bookings/s, saga latency (request → CONFIRMED visible in the
//   query service) p50/p95/p99, and oversell (must be 0).
//
// Writes a Markdown report to tests/bench/reports.
//
//   npm run bench                          # 3000 requests / 1000 tickets; 500 buyers / 100 tickets
//   npm run bench -- --buyers 200 --tickets 50 --concurrency 25 --stages flash-sale
//
// The waiting room is not in the loop: the benchmark mints each buyer's pass with PASS_TOKEN_SECRET,
// acting as the queue service.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AppSpec, databaseUrl, services, startApps, startInfra } from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import {
  type AllocationResult,
  allocationReport,
  allocationRound,
  asGatewayCall,
  benchAdmin,
  createBenchShow,
  type Strategy,
} from './allocation.ts';

const { values: args } = parseArgs({
  options: {
    buyers: { type: 'string', default: '500' },
    tickets: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '50' },
    'settle-timeout-s': { type: 'string', default: '300' },
    strategies: { type: 'string', default: 'batched,atomic,pessimistic' },
    stages: { type: 'string', default: 'allocation,flash-sale' },
    'allocation-requests': { type: 'string', default: '3000' },
    'allocation-tickets': { type: 'string', default: '1000' },
  },
});
const buyers = positive('buyers');
const tickets = positive('tickets');
const concurrency = positive('concurrency');
const settleTimeoutMs = positive('settle-timeout-s') * 1000;
const allocationRequests = positive('allocation-requests');
const allocationTickets = positive('allocation-tickets');
const strategies = args.strategies.split(',').map((s) => s.trim()) as Strategy[];
const stages = args.stages.split(',').map((s) => s.trim());
const knownStrategies: Strategy[] = ['batched', 'atomic', 'pessimistic'];
for (const strategy of strategies) {
  if (!knownStrategies.includes(strategy)) {
    console.error(`--strategies: unknown strategy ${strategy} (known: ${knownStrategies.join(', ')})`);
    process.exit(2);
  }
}
for (const stage of stages) {
  if (stage !== 'allocation' && stage !== 'flash-sale') {
    console.error(`--stages: unknown stage ${stage} (known: allocation, flash-sale)`);
    process.exit(2);
  }
}
const BASELINE: Strategy = 'pessimistic';

type SagaApp = 'inventory' | 'reservation' | 'payment' | 'ticket' | 'query';
const sagaApps: SagaApp[] = ['inventory', 'reservation', 'payment', 'ticket', 'query'];

function positive(name: keyof typeof args): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}

/** The queue service's pass: an HS256 JWT { sub, show, jti, iat, exp, typ: 'pass' }. */
function mintPass(secret: string, userId: string, showId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: userId, show: showId, jti: randomUUID(), iat: now, exp: now + 900, typ: 'pass' })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Buyer = {
  userId: string;
  reservationId?: string;
  requestedAt: number;
  settledAt?: number;
  status?: 'CONFIRMED' | 'CANCELLED';
  reason?: string | null;
  error?: string;
};

type RoundResult = {
  strategy: Strategy;
  confirmed: number;
  cancelled: Record<string, number>;
  unsettled: number;
  rejected: number;
  durationS: number;
  bookingsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  stock: { capacity: number; available: number; held: number; sold: number };
  validTickets: number;
  capturedPayments: number;
  oversell: number;
  /** capacity = available + held + sold */
  balanced: boolean;
};

async function round(
  infra: Awaited<ReturnType<typeof startInfra>>,
  strategy: Strategy,
): Promise<RoundResult> {
  const secret = randomBytes(32).toString('base64url');
  const env: Record<SagaApp, Record<string, string>> = {
    inventory: { INVENTORY_STRATEGY: strategy },
    reservation: { REQUIRE_PASS: 'true', PASS_TOKEN_SECRET: secret, HOLD_TTL_SECONDS: '600' },
    payment: {},
    ticket: {},
    query: {},
  };
  const specs: AppSpec<SagaApp>[] = sagaApps.map((appId) => ({
    appId,
    args: [services[appId].main],
    database: appId,
    env: { ...services[appId].env, ...env[appId] },
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
  }));
  print(`\n[bench] ${strategy}: starting ${sagaApps.join(', ')} with their sidecars`);
  const started = await startApps({ infra: infra.info, apps: specs });
  const { inventory, reservation, query } = started.apps;
  try {
    const createShow = (title: string, capacity: number) => createBenchShow(inventory, title, capacity);
    const book = async (buyer: Buyer, on: { showId: string; ticketTypeId: string }) => {
      buyer.requestedAt = performance.now();
      try {
        const response = await fetch(`${reservation.url}/v1/reservations`, {
          method: 'POST',
          headers: {
            ...asGatewayCall(reservation, { id: buyer.userId }),
            'idempotency-key': randomUUID(),
            'x-pass-token': mintPass(secret, buyer.userId, on.showId),
          },
          body: JSON.stringify({ ...on, quantity: 1, paymentMethod: { token: 'tok_success' } }),
        });
        if (response.status !== 201) {
          buyer.error = `${response.status} ${(await response.text()).slice(0, 200)}`;
          return;
        }
        buyer.reservationId = ((await response.json()) as { id: string }).id;
      } catch (error) {
        buyer.error = String(error);
      }
    };
    /** Polls the query service until every placed reservation is settled or the deadline passes. */
    const settle = async (crowd: Buyer[], deadline: number, label: string) => {
      let pending = crowd.filter((b) => b.reservationId);
      let shown = -1;
      while (pending.length > 0 && Date.now() < deadline) {
        await pool(pending, 16, async (buyer) => {
          const response = await fetch(`${query.url}/v1/reservations/${buyer.reservationId}`, {
            headers: asGatewayCall(query, { id: buyer.userId }),
          });
          if (response.status !== 200) return;
          const details = (await response.json()) as { status: string; failure: { reason: string } | null };
          if (details.status === 'CONFIRMED' || details.status === 'CANCELLED') {
            buyer.settledAt = performance.now();
            buyer.status = details.status;
            buyer.reason = details.failure?.reason ?? null;
          }
        });
        pending = pending.filter((b) => !b.status);
        const settled = crowd.length - pending.length;
        if (settled !== shown && (settled - shown >= crowd.length / 10 || pending.length === 0)) {
          print(`[bench] ${label}: ${settled} settled, ${pending.length} pending`);
          shown = settled;
        }
        if (pending.length > 0) await sleep(100);
      }
    };

    // Warm-up: consumer groups join, topics and connection pools get created before the clock runs.
    const warmShow = await createShow(`Warm-up (${strategy})`, 5);
    const warmCrowd: Buyer[] = Array.from({ length: 5 }, (_, i) => ({
      userId: `warm-${strategy}-${i}-${randomUUID().slice(0, 8)}`,
      requestedAt: 0,
    }));
    await pool(warmCrowd, 5, (buyer) => book(buyer, warmShow));
    await settle(warmCrowd, Date.now() + 120_000, `${strategy} warm-up`);
    const sale = await createShow(`Flash sale (${strategy})`, tickets);
    const show = { id: sale.showId };

    const crowd: Buyer[] = Array.from({ length: buyers }, (_, i) => ({
      userId: `bench-${strategy}-${i}-${randomUUID().slice(0, 8)}`,
      requestedAt: 0,
    }));
    print(`[bench] ${strategy}: ${buyers} buyers for ${tickets} tickets, ${concurrency} at a time`);
    const started_ = performance.now();
    const deadline = Date.now() + settleTimeoutMs;

    await pool(crowd, concurrency, (buyer) => book(buyer, sale));
    const placedIn = (performance.now() - started_) / 1000;
    print(
      `[bench] ${strategy}: ${crowd.filter((b) => b.reservationId).length} reservations placed in ${placedIn.toFixed(1)} s; waiting for the sagas`,
    );

    await settle(crowd, deadline, strategy);

    const confirmed = crowd.filter((b) => b.status === 'CONFIRMED');
    const cancelled: Record<string, number> = {};
    for (const b of crowd.filter((x) => x.status === 'CANCELLED')) {
      cancelled[b.reason ?? 'UNKNOWN'] = (cancelled[b.reason ?? 'UNKNOWN'] ?? 0) + 1;
    }
    const latencies = confirmed.map((b) => b.settledAt! - b.requestedAt).sort((a, b) => a - b);
    const lastConfirmed = Math.max(...confirmed.map((b) => b.settledAt!));
    const durationS = confirmed.length > 0 ? (lastConfirmed - started_) / 1000 : Number.NaN;

    // Inventory turns a hold into sold on reservation.confirmed, a moment after the query shows it.
    type Stock = { capacity: number; available: number; held: number; sold: number };
    let stockRows: Stock[] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const stockResponse = await fetch(`${inventory.url}/v1/shows/${show.id}/stock`, {
        headers: asGatewayCall(inventory, benchAdmin),
      });
      stockRows = ((await stockResponse.json()) as { stock: Stock[] }).stock;
      if (stockRows[0]?.held === 0) break;
      await sleep(500);
    }
    const stock = stockRows[0] ?? {
      capacity: Number.NaN,
      available: Number.NaN,
      held: Number.NaN,
      sold: Number.NaN,
    };

    const count = async (app: SagaApp, statement: string) => {
      const database = createDatabase(databaseUrl(infra.info.postgres, app), {}, { max: 1 });
      try {
        const [row] = await database.sql.unsafe(statement, [show.id]);
        return Number(row?.n ?? Number.NaN);
      } finally {
        await database.close();
      }
    };
    const validTickets = await count(
      'ticket',
      `select count(*) as n from tickets where show_id = $1 and status = 'valid'`,
    );
    const capturedPayments = await count(
      'payment',
      `select count(*) as n from payments where show_id = $1 and status = 'captured'`,
    );

    const result: RoundResult = {
      strategy,
      confirmed: confirmed.length,
      cancelled,
      unsettled: crowd.filter((b) => b.reservationId && !b.status).length,
      rejected: crowd.filter((b) => b.error).length,
      durationS,
      bookingsPerSecond: confirmed.length / durationS,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      stock,
      validTickets,
      capturedPayments,
      balanced: stock.capacity === stock.available + stock.held + stock.sold,
      oversell: Math.max(0, confirmed.length - tickets, stock.sold - stock.capacity, validTickets - tickets),
    };
    const firstError = crowd.find((b) => b.error)?.error;
    if (firstError) print(`[bench] ${strategy}: ${result.rejected} requests refused, e.g. ${firstError}`);
    print(`[bench] ${strategy}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await started.stop();
  }
}

function report(allocation: AllocationResult[], results: RoundResult[], startedAt: Date): string {
  const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${Math.round(value)} ms`);
  const base = results.find((r) => r.strategy === BASELINE);
  const versus = (r: RoundResult) =>
    base
      ? `×${(r.bookingsPerSecond / base.bookingsPerSecond).toFixed(2)} / ×${(r.p50 / base.p50).toFixed(2)}`
      : 'n/a';
  const rows = results.map(
    (r) =>
      `| ${r.strategy} | ${r.confirmed} | ${
        Object.entries(r.cancelled)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(', ') || '0'
      } | ${r.unsettled} | ${r.rejected} | ${r.bookingsPerSecond.toFixed(2)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${versus(r)} | ${r.oversell} | ${r.stock.capacity}/${r.stock.available}/${r.stock.held}/${r.stock.sold} (${r.balanced ? 'yes' : 'NO'}) | ${r.validTickets} | ${r.capturedPayments} |`,
  );
  const flashSale =
    results.length === 0
      ? []
      : [
          '## Flash sale (the whole saga)',
          '',
          `${buyers} buyers, ${tickets} tickets (one per buyer, card \`tok_success\`), ${concurrency} requests in flight; ` +
            'inventory, reservation, payment, ticket and query with their daprd. Latency: POST /v1/reservations sent → ' +
            'CONFIRMED visible in the query service (polled). Throughput: confirmed bookings / time from the first request ' +
            `to the last CONFIRMED seen. "vs ${BASELINE}": throughput ratio / p50 ratio.`,
          '',
          `| strategy | confirmed | cancelled | unsettled | refused | confirmed/s | p50 | p95 | p99 | vs ${BASELINE} | oversell | capacity/available/held/sold (balanced) | valid tickets | captured payments |`,
          '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
          ...rows,
          '',
        ];
  return [
    `# Flash-sale benchmark, ${startedAt.toISOString()}`,
    '',
    `One machine (${process.platform}, ${availableParallelism()} cores, Node ${process.version}), the real local stack: ` +
      'Kafka, Postgres, Redis, each service with its daprd. Ratios are against the pessimistic row-lock baseline ' +
      'measured in the same run.',
    '',
    ...(allocation.length > 0 ? allocationReport(allocation, BASELINE) : []),
    ...flashSale,
    `Command: \`npm run bench -- --strategies ${strategies.join(',')} --stages ${stages.join(',')} ` +
      `--allocation-requests ${allocationRequests} --allocation-tickets ${allocationTickets} ` +
      `--buyers ${buyers} --tickets ${tickets} --concurrency ${concurrency}\``,
    '',
  ].join('\n');
}

const startedAt = new Date();
const infra = await startInfra({ brokerJit: 'throughput' });
const allocation: AllocationResult[] = [];
const results: RoundResult[] = [];
try {
  if (stages.includes('allocation')) {
    for (const strategy of strategies) {
      allocation.push(
        await allocationRound(infra, strategy, {
          requests: allocationRequests,
          tickets: allocationTickets,
          timeoutMs: settleTimeoutMs,
          print,
        }),
      );
    }
  }
  if (stages.includes('flash-sale')) {
    for (const strategy of strategies) results.push(await round(infra, strategy));
  }
} finally {
  await infra.stop();
}
const markdown = report(allocation, results, startedAt);
const dir = join(import.meta.dirname, 'reports');
mkdirSync(dir, { recursive: true });
const file = join(dir, `flash-sale-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`);
writeFileSync(file, markdown);
print(`\n${markdown}\n[bench] report written to ${file}`);
const wrong =
  results.some((r) => r.oversell > 0 || !r.balanced) ||
  allocation.some((r) => r.oversell > 0 || !r.balanced || r.answered !== r.requests);
process.exit(wrong ? 1 : 0);

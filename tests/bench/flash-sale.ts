// Flash-sale benchmark against the real local stack (Kafka, Postgres, Redis, each service with its
// daprd), per inventory strategy — the default (batched), atomic, and the pessimistic row-lock
// baseline — in the same run, with ratios against the baseline. Three stages:
//
// - allocation: inventory alone drains a backlog of reservation.created for one hot ticket type
//   (see allocation.ts): answers/s of the allocation step itself;
// - flash sale: N buyers race for M tickets through the whole saga (inventory, reservation,
//   payment, ticket, query): confirmed bookings/s, saga latency (request → CONFIRMED visible in the
//   query service) p50/p95/p99, unloaded latency, CPU per saga, and oversell (must be 0);
// - chain: the same flash sale against ReserveX and a no-op chain of the saga's shape on the same
//   infrastructure, rounds alternating, with ReserveX / chain ratios (see chain/stage.ts).
//
// Writes a Markdown report to tests/bench/reports.
//
//   npm run bench                          # 3000 requests / 1000 tickets; 500 buyers / 100 tickets
//   npm run bench -- --buyers 200 --tickets 50 --concurrency 25 --stages flash-sale
//   npm run bench -- --stages chain --rounds 3 --traces-out /tmp/traces.jsonl
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { startInfra } from '@reservex/local';
import { type AllocationResult, allocationReport, allocationRound } from './allocation.ts';
import { median } from './chain/figures.ts';
import { chainReport, chainStage, type StageResult } from './chain/stage.ts';
import { type RoundResult as DrivenRound, driveRound, type Load } from './drive.ts';
import { parseBenchFlags, type Strategy, USAGE } from './flags.ts';
import { startReserveX } from './reservex.ts';

const parsed = parseBenchFlags(process.argv.slice(2));
if (!parsed.ok) {
  console.error(`npm run bench: ${parsed.message}\n\n${USAGE}`);
  process.exit(2);
}
const { flags } = parsed;
const { buyers, tickets, concurrency, strategies, stages, allocationRequests, allocationTickets } = flags;
const settleTimeoutMs = flags.settleTimeoutS * 1000;
const load: Load = { buyers, tickets, concurrency, settleTimeoutMs };
const BASELINE: Strategy = 'pessimistic';

const print = (line: string) => process.stdout.write(`${line}\n`);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

type RoundResult = DrivenRound & {
  strategy: Strategy;
  validTickets: number;
  capturedPayments: number;
};

async function round(
  infra: Awaited<ReturnType<typeof startInfra>>,
  strategy: Strategy,
): Promise<RoundResult> {
  const system = await startReserveX(infra, strategy, print, flags.cpuProf);
  try {
    const result = await driveRound(system, { system: strategy, round: 1, tag: strategy }, load, print);
    const issued = await system.issued(result.show);
    return {
      ...result,
      strategy,
      ...issued,
      oversell: Math.max(result.oversell, issued.validTickets - tickets),
    };
  } finally {
    await system.stop();
  }
}

function report(
  allocation: AllocationResult[],
  results: RoundResult[],
  chain: StageResult | undefined,
  startedAt: Date,
  chartName: string,
): { markdown: string; svg: string | undefined } {
  const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${Math.round(value)} ms`);
  const base = results.find((r) => r.strategy === BASELINE);
  const versus = (r: RoundResult) =>
    base
      ? `×${(r.confirmedPerSecond / base.confirmedPerSecond).toFixed(2)} / ×${(r.p50 / base.p50).toFixed(2)}`
      : 'n/a';
  const rows = results.map(
    (r) =>
      `| ${r.strategy} | ${r.confirmed} | ${
        Object.entries(r.cancelled)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(', ') || '0'
      } | ${r.unsettled} | ${r.rejected} | ${r.confirmedPerSecond.toFixed(2)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.unloaded)} | ${r.cpuPerSaga.toFixed(1)} ms | ${versus(r)} | ${r.oversell} | ${r.stock.capacity}/${r.stock.available}/${r.stock.held}/${r.stock.sold} (${r.balanced ? 'yes' : 'NO'}) | ${r.validTickets} | ${r.capturedPayments} |`,
  );
  const flashSale =
    results.length === 0
      ? []
      : [
          '## Flash sale (the whole saga)',
          '',
          `${buyers} buyers, ${tickets} tickets (one per buyer, card \`tok_success\`), ${concurrency} requests in flight; ` +
            'inventory, reservation, payment, ticket and query with their daprd. Latency: POST /v1/reservations sent → ' +
            'CONFIRMED visible in the query service (polled every 100 ms). Throughput: confirmed bookings / time from the first ' +
            'request to the last CONFIRMED seen. Unloaded: one booking alone after the warm-up (median of three, polled every ' +
            '20 ms). CPU per saga: CPU of the apps, sidecars, Kafka, Postgres, Redis and Jaeger over the sale / bookings ' +
            `settled (the card sandbox, standing in for the outside card provider, not counted). "vs ${BASELINE}": throughput ratio / p50 ratio.`,
          '',
          `| strategy | confirmed | cancelled | unsettled | refused | confirmed/s | p50 | p95 | p99 | unloaded | CPU per saga | vs ${BASELINE} | oversell | capacity/available/held/sold (balanced) | valid tickets | captured payments |`,
          '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
          ...rows,
          '',
        ];
  const chainPart = chain ? chainReport(chain, load, chartName) : undefined;
  const markdown = [
    `# Flash-sale benchmark, ${startedAt.toISOString()}`,
    '',
    `One machine (${process.platform}, ${availableParallelism()} cores, Node ${process.version}), the real local stack: ` +
      'Kafka, Postgres, Redis, each service with its daprd. Ratios are against the pessimistic row-lock baseline ' +
      'measured in the same run.',
    '',
    `Load average (1, 5, 15 min) at the start: ${startLoad}; at the end: ${loadAverage()}; the 1-minute load sampled ` +
      `every 15 s during the run: ${loads.length > 0 ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)})` : 'n/a'} ` +
      `(the machine's cores may be shared). The run took ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} min.`,
    '',
    ...(allocation.length > 0 ? allocationReport(allocation, BASELINE) : []),
    ...flashSale,
    ...(chainPart?.lines ?? []),
    `Every figure of the run, each round's confirmation times included, is in \`flash-sale-${startedAt.toISOString().replace(/[:.]/g, '-')}.json\` beside this report.`,
    '',
    `Command: \`npm run bench -- --strategies ${strategies.join(',')} --stages ${stages.join(',')} ` +
      `--allocation-requests ${allocationRequests} --allocation-tickets ${allocationTickets} ` +
      `--buyers ${buyers} --tickets ${tickets} --concurrency ${concurrency} --rounds ${flags.rounds}` +
      `${flags.tracesOut ? ` --traces-out ${flags.tracesOut}` : ''}` +
      `${flags.cpuProf ? ` --cpu-prof ${flags.cpuProf}` : ''}\``,
    '',
  ].join('\n');
  return { markdown, svg: chainPart?.svg };
}

const startedAt = new Date();
const startLoad = loadAverage();
// The 1-minute load average every 15 s: the machine's cores may be shared, and the report says so.
const loads: number[] = [];
const loadSampler = setInterval(() => loads.push(Number(loadAverage().split(' ')[0])), 15_000);
loadSampler.unref();
// The run stops by itself: past its bound it reports what it has not finished and exits, and the
// infrastructure's watchdog stops every server it started once this process is gone.
const bound = setTimeout(() => {
  console.error(`npm run bench: stopped after --max-minutes ${flags.maxMinutes} without finishing`);
  process.exit(3);
}, flags.maxMinutes * 60_000);
bound.unref();
const infra = await startInfra({ brokerJit: 'throughput' });
const allocation: AllocationResult[] = [];
const results: RoundResult[] = [];
let chain: StageResult | undefined;
try {
  if (stages.includes('allocation')) {
    for (const strategy of strategies) {
      allocation.push(
        await allocationRound(infra, strategy, {
          requests: allocationRequests,
          tickets: allocationTickets,
          timeoutMs: settleTimeoutMs,
          print,
          cpuProf: flags.cpuProf,
        }),
      );
    }
  }
  if (stages.includes('flash-sale')) {
    for (const strategy of strategies) results.push(await round(infra, strategy));
  }
  if (stages.includes('chain')) {
    chain = await chainStage(infra, {
      load,
      rounds: flags.rounds,
      tracesOut: flags.tracesOut,
      cpuProf: flags.cpuProf,
      print,
    });
  }
} finally {
  await infra.stop();
}
const dir = join(import.meta.dirname, 'reports');
mkdirSync(dir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const chartName = `flash-sale-${stamp}-confirmed.svg`;
const { markdown, svg } = report(allocation, results, chain, startedAt, chartName);
const file = join(dir, `flash-sale-${stamp}.md`);
writeFileSync(file, markdown);
if (svg) writeFileSync(join(dir, chartName), svg);
// Every figure of the run, the chart's points included, for another look without another run.
writeFileSync(
  join(dir, `flash-sale-${stamp}.json`),
  `${JSON.stringify({ flags, allocation, flashSale: results, chain }, null, 1)}\n`,
);
print(`\n${markdown}\n[bench] report written to ${file}${svg ? ` (chart ${chartName})` : ''}`);
const wrong =
  results.some((r) => r.oversell > 0 || !r.balanced) ||
  (chain?.rounds ?? []).some((r) => r.oversell > 0 || !r.balanced || r.unsettled > 0) ||
  allocation.some((r) => r.oversell > 0 || !r.balanced || r.answered !== r.requests);
process.exit(wrong ? 1 : 0);

// The chain-ceiling stage of `npm run bench`: ReserveX beside the no-op chain of its saga's shape on
// the same infrastructure (stack.ts, app.ts), in two variants — pub/sub only, and a Postgres
// transaction with inbox, outbox and relay per hop — under the flash sale's load (drive.ts). Rounds
// alternate the systems; every figure is the median of the rounds. Each round's traces are read
// back from Jaeger for the per-hop breakdown and, with --traces-out, kept in a file.
import { appendFileSync, writeFileSync } from 'node:fs';
import type { startInfra } from '@reservex/local';
import { driveRound, type Load, OUTSIDE, type RoundResult, type Running } from '../drive.ts';
import { startReserveX } from '../reservex.ts';
import { type Curve, renderCurves } from './curve.ts';
import { duration, median, medianRound, ratio, times } from './figures.ts';
import {
  BREAKDOWN_HEADER,
  type Breakdown,
  breakdown,
  breakdownRows,
  type JaegerTrace,
  mergeBreakdowns,
} from './hops.ts';
import { type ChainVariant, startChain } from './stack.ts';

type Infra = Awaited<ReturnType<typeof startInfra>>;

export const SYSTEMS = [
  { name: 'ReserveX', colour: '#c0392b' },
  { name: 'chain, pub/sub', colour: '#2471a3', variant: 'pubsub' },
  { name: 'chain, outbox', colour: '#229954', variant: 'outbox' },
] as const satisfies readonly { name: string; colour: string; variant?: ChainVariant }[];

export type StageResult = {
  rounds: RoundResult[];
  /** Per system, the per-hop breakdown of each round. */
  breakdowns: Record<string, Breakdown[][]>;
  traces: number;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The saga traces of a round's window: every trace that holds a booking request. */
async function tracesOf(infra: Infra, window: { from: number; to: number }, limit: number) {
  // Spans leave the apps in batches (500 ms) and Jaeger batches again (200 ms).
  await sleep(3000);
  const query = new URLSearchParams({
    service: 'reservation',
    operation: 'POST /v1/reservations',
    start: String(window.from * 1000),
    end: String((window.to + 5000) * 1000),
    limit: String(limit),
  });
  const response = await fetch(`${infra.info.jaeger.uiUrl}/api/traces?${query}`, {
    signal: AbortSignal.timeout(120_000),
  });
  if (!response.ok) throw new Error(`Jaeger: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

export async function chainStage(
  infra: Infra,
  options: {
    load: Load;
    rounds: number;
    tracesOut: string | undefined;
    cpuProf?: string | undefined;
    print: (line: string) => void;
  },
): Promise<StageResult> {
  const { load, print } = options;
  if (options.tracesOut) writeFileSync(options.tracesOut, '');
  const rounds: RoundResult[] = [];
  const breakdowns: Record<string, Breakdown[][]> = {};
  let traces = 0;
  for (let round = 1; round <= options.rounds; round++) {
    for (const system of SYSTEMS) {
      const running: Running =
        'variant' in system
          ? await startChain(infra, system.variant, print)
          : await startReserveX(infra, 'batched', print, options.cpuProf);
      let result: RoundResult;
      try {
        result = await driveRound(
          running,
          { system: system.name, round, tag: `${system.name.replace(/\W+/g, '')}${round}` },
          load,
          print,
        );
      } finally {
        await running.stop();
      }
      rounds.push(result);
      try {
        const found = await tracesOf(infra, result.window, load.buyers + 50);
        traces += found.length;
        if (options.tracesOut)
          appendFileSync(
            options.tracesOut,
            found.map((trace) => `${JSON.stringify({ system: system.name, round, trace })}\n`).join(''),
          );
        breakdowns[system.name] = [...(breakdowns[system.name] ?? []), breakdown(found)];
        print(`[bench] ${system.name} #${round}: ${found.length} traces read back`);
      } catch (error) {
        print(`[bench] ${system.name} #${round}: traces not read (${String(error)})`);
      }
    }
  }
  return { rounds, breakdowns, traces };
}

/** The median of every figure of a system over its rounds. */
export function summarise(rounds: readonly RoundResult[]) {
  const of = (pick: (r: RoundResult) => number) => median(rounds.map(pick));
  return {
    rounds: rounds.length,
    confirmedPerSecond: of((r) => r.confirmedPerSecond),
    p50: of((r) => r.p50),
    p95: of((r) => r.p95),
    unloaded: of((r) => r.unloaded),
    cpuPerSaga: of((r) => r.cpuPerSaga),
  };
}

function cpuGroups(cpuMs: Record<string, number>, sagas: number) {
  const group = (test: (name: string) => boolean) =>
    Object.entries(cpuMs)
      .filter(([name]) => test(name))
      .reduce((sum, [, ms]) => sum + ms, 0) / sagas;
  return {
    apps: group(
      (n) =>
        !n.endsWith('daprd') &&
        !n.startsWith(OUTSIDE) &&
        !['kafka', 'postgres', 'redis', 'jaeger'].includes(n),
    ),
    sidecars: group((n) => n.endsWith('daprd')),
    kafka: group((n) => n === 'kafka'),
    postgres: group((n) => n === 'postgres'),
    redis: group((n) => n === 'redis'),
    jaeger: group((n) => n === 'jaeger'),
  };
}

/** The stage's section of the report, and the chart it refers to (written beside the report). */
export function chainReport(
  result: StageResult,
  load: Load,
  chartName: string,
): { lines: string[]; svg: string } {
  const bySystem = (name: string) => result.rounds.filter((r) => r.system === name);
  const summaries = Object.fromEntries(SYSTEMS.map((s) => [s.name, summarise(bySystem(s.name))]));
  const reservex = summaries.ReserveX!;
  const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
  const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
  const lines: string[] = [
    '## The saga at the platform’s ceiling',
    '',
    `The same flash sale (${load.buyers} buyers, ${load.tickets} tickets, ${load.concurrency} requests in flight, completion polled ` +
      'in the read side) driven against ReserveX (batched strategy) and against a no-op chain of the saga’s shape on the ' +
      'same infrastructure: five apps under the saga services’ app ids, each with its own daprd started as the service’s is ' +
      '(same binary, flags, Components with topic scopes, Resiliency, access control, mTLS and API tokens, tracing to ' +
      'Jaeger at sampling rate 1, the same Kafka), the same topics and keys (reservation id), five pub/sub hops to ' +
      'CONFIRMED, the sold-out branch after the capacity (stock.failed → reservation.cancelled) and the same fan-out ' +
      '(each chain app subscribes to every topic its service consumes; query to all of them). Every hop is bulk-subscribed ' +
      '(up to 100 events, 10 ms window) and every publish is a bulk publish per topic. **pub/sub**: each delivery is ' +
      'answered by publishing from the handler, state in memory. **outbox**: each delivery is one Postgres transaction ' +
      '(inbox rows, the stock counter or the read model, outbox rows) and a relay claims committed rows and bulk-publishes ' +
      'them. Both trace as the services do (server, consumer, producer, Postgres and sidecar-call spans).',
    '',
    `Rounds alternate the systems (${result.rounds.length / SYSTEMS.length} each); every figure below is the median of a system’s rounds. ` +
      'Unloaded: one booking alone after the warm-up, request → CONFIRMED seen (median of three, polled every 20 ms). CPU per ' +
      'saga: CPU time (/proc, user + system, with children) of the apps, their sidecars, Kafka, Postgres, Redis and Jaeger ' +
      'from the first request until every booking settled, divided by the bookings settled (confirmed + sold out); ' +
      'ReserveX’s card sandbox (a stand-in for the outside card provider) is listed but not counted.',
    '',
    '| system | confirmed/s | p50 | p95 | unloaded | CPU per saga |',
    '|---|---:|---:|---:|---:|---:|',
    ...SYSTEMS.map((s) => {
      const m = summaries[s.name]!;
      return `| ${s.name} | ${f2(m.confirmedPerSecond)} | ${duration(m.p50)} | ${duration(m.p95)} | ${duration(m.unloaded)} | ${f1(m.cpuPerSaga)} ms |`;
    }),
    '',
    'ReserveX / chain (throughput: above ×1 is faster than the chain; latency and CPU: above ×1 is slower or costlier):',
    '',
    '| chain | confirmed/s | p50 | p95 | unloaded | CPU per saga |',
    '|---|---:|---:|---:|---:|---:|',
    ...SYSTEMS.filter((s) => s.name !== 'ReserveX').map((s) => {
      const c = summaries[s.name]!;
      return `| ${s.name} | ${times(ratio(reservex.confirmedPerSecond, c.confirmedPerSecond))} | ${times(ratio(reservex.p50, c.p50))} | ${times(ratio(reservex.p95, c.p95))} | ${times(ratio(reservex.unloaded, c.unloaded))} | ${times(ratio(reservex.cpuPerSaga, c.cpuPerSaga))} |`;
    }),
    '',
    `![Confirmed bookings over time](${chartName})`,
    '',
    'Every round (invariants: oversell 0 and capacity = available + held + sold, checked each round):',
    '',
    '| system | round | confirmed | cancelled | unsettled | refused | confirmed/s | p50 | p95 | p99 | unloaded | CPU/saga ms | oversell | capacity/available/held/sold (balanced) |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...result.rounds.map(
      (r) =>
        `| ${r.system} | ${r.round} | ${r.confirmed} | ${
          Object.entries(r.cancelled)
            .map(([reason, n]) => `${reason} ${n}`)
            .join(', ') || '0'
        } | ${r.unsettled} | ${r.rejected} | ${f2(r.confirmedPerSecond)} | ${duration(r.p50)} | ${duration(r.p95)} | ${duration(r.p99)} | ${duration(r.unloaded)} | ${f1(r.cpuPerSaga)} | ${r.oversell} | ${r.stock.capacity}/${r.stock.available}/${r.stock.held}/${r.stock.sold} (${r.balanced ? 'yes' : 'NO'}) |`,
    ),
    '',
    'CPU per saga by process group, ms (each round):',
    '',
    '| system | round | apps | sidecars | Kafka | Postgres | Redis | Jaeger | total |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rounds.map((r) => {
      const settled = r.confirmed + Object.values(r.cancelled).reduce((a, b) => a + b, 0);
      const g = cpuGroups(r.cpuMs, Math.max(1, settled));
      return `| ${r.system} | ${r.round} | ${f1(g.apps)} | ${f1(g.sidecars)} | ${f1(g.kafka)} | ${f1(g.postgres)} | ${f1(g.redis)} | ${f1(g.jaeger)} | ${f1(r.cpuPerSaga)} |`;
    }),
    '',
    'CPU per saga per process, ms (each round):',
    '',
    ...result.rounds.map((r) => {
      const settled = r.confirmed + Object.values(r.cancelled).reduce((a, b) => a + b, 0);
      return `- ${r.system} #${r.round}: ${Object.entries(r.cpuMs)
        .map(([name, ms]) => `${name} ${f2(ms / Math.max(1, settled))}`)
        .join(', ')}`;
    }),
    '',
    `### Per hop, from the traces (${result.traces} saga traces read back from Jaeger)`,
    '',
    'Median ms of each phase per hop (median over rounds of each round’s median). relay: end of the span that wrote ' +
      'the event → its publish span (0 when published from the handler); publish: the app’s publish span (the call to ' +
      'its sidecar, the sidecar’s write to Kafka); broker wait: publish end → the consumer’s daprd handing the delivery ' +
      'over (`pubsub/<topic>` span: Kafka, the fetch, the bulk window); delivery: → the app’s consumer span; handler: ' +
      'the consumer span.',
    '',
  ];
  lines.push(
    ...BREAKDOWN_HEADER,
    ...SYSTEMS.flatMap((s) => breakdownRows(s.name, mergeBreakdowns(result.breakdowns[s.name] ?? []))),
    '',
  );

  const curves: Curve[] = SYSTEMS.flatMap((s) => {
    const median = medianRound(bySystem(s.name), (r) => r.confirmedPerSecond);
    return median
      ? [
          {
            label: `${s.name} (round ${median.round}, ${f2(median.confirmedPerSecond)}/s)`,
            colour: s.colour,
            confirmedAtS: median.confirmedAtS,
          },
        ]
      : [];
  });
  const svg = renderCurves(
    `Confirmed bookings over time: ${load.buyers} buyers, ${load.tickets} tickets (median round of each system)`,
    curves,
  );
  return { lines, svg };
}

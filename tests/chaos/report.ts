// The chaos run's report: a Markdown page (what ran, every fault that fired with its pid and the time
// until bookings flowed again, the invariants, the dead letters, the traces) and an SVG plot of
// bookings per second with the faults marked, and the saga's latency percentiles.
import type { Books } from './books.ts';
import type { ChaosFlags } from './flags.ts';
import type { Check, DeadLetterAccount } from './invariants.ts';
import type { ScheduledFault } from './schedule.ts';
import type { RestartRecord } from './supervisor.ts';

export interface FiredFault {
  scheduled: ScheduledFault;
  /** When it fired (ms since epoch); undefined when it did not. */
  firedAt?: number;
  /** The pid signalled (or started, for replicas and the duplicator). */
  pid?: number;
  /** When it ended: the resume of a pause, the last step of a rolling restart. */
  endedAt?: number;
  detail?: string;
  /** Ms from the fault's end until a saga next ended other than by expiry or the user; null: none did. */
  recoveryMs?: number | null;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TraceCheck {
  /** Confirmed bookings whose whole saga ran in a window without faults. */
  candidates: number;
  checked: string[];
  incomplete: { reservationId: string; traceId: string | null; missing: string }[];
}

export interface ChaosResult {
  flags: ChaosFlags;
  command: string;
  startedAt: number;
  openedAt: number;
  finishedAt: number;
  stackStartMs: number;
  faults: FiredFault[];
  restarts: RestartRecord[];
  buyers: {
    total: number;
    admitted: number;
    placed: number;
    refused: Record<string, number>;
    gaveUp: number;
    retries: number;
    gaveUpExamples: string[];
  };
  outcomes: { confirmed: number; cancelled: Record<string, number>; open: number };
  latency: { confirmed: Percentiles; cancelled: Percentiles };
  checks: Check[];
  deadLetters: DeadLetterAccount[];
  traces: TraceCheck;
  duplicatesCopied: number | undefined;
  failures: string[];
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? Number.NaN };
}

/** Reasons a saga ends that say nothing about the platform flowing: time ran out, the user left. */
const NOT_FLOW = new Set(['EXPIRED', 'USER_CANCELLED']);

/** Saga ends that show the platform working: confirmations and the saga's own cancellations. */
export function flowEnds(books: Pick<Books, 'reservations'>): number[] {
  return books.reservations
    .filter((r) => r.endedAt !== null && !(r.status === 'CANCELLED' && NOT_FLOW.has(r.reason ?? '')))
    .map((r) => r.endedAt!)
    .sort((a, b) => a - b);
}

/** Ms from `after` to the first flowing saga end after it; null when none came. */
export function recoveryAfter(ends: readonly number[], after: number): number | null {
  const next = ends.find((t) => t > after);
  return next === undefined ? null : next - after;
}

/** Confirmations per bin of `binS` seconds from the opening. */
export function bookingsPerSecond(
  books: Pick<Books, 'reservations'>,
  openedAt: number,
  binS: number,
  untilS: number,
): number[] {
  const bins = new Array<number>(Math.max(1, Math.ceil(untilS / binS))).fill(0);
  for (const r of books.reservations) {
    if (r.status !== 'CONFIRMED' || r.endedAt === null) continue;
    const bin = Math.floor((r.endedAt - openedAt) / 1000 / binS);
    if (bin >= 0 && bin < bins.length) bins[bin]! += 1;
  }
  return bins.map((n) => n / binS);
}

const KIND_COLOURS: Record<ScheduledFault['kind'], string> = {
  kill: '#d62728',
  infra: '#9467bd',
  pause: '#ff7f0e',
  duplicates: '#8c564b',
  replicas: '#2ca02c',
  rolling: '#1f77b4',
};

const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The plot: bookings/s over time, each fault a vertical line at its time; latency bars below. */
export function plotSvg(
  result: Pick<ChaosResult, 'faults' | 'latency' | 'openedAt'>,
  series: number[],
  binS: number,
): string {
  const width = 960;
  const top = { x: 60, y: 30, w: 860, h: 260 };
  const bars = { x: 160, y: 360, w: 760, h: 110 };
  const height = 500;
  const spanS = series.length * binS;
  const maxRate = Math.max(1, ...series);
  const x = (s: number) => top.x + (s / spanS) * top.w;
  const y = (rate: number) => top.y + top.h - (rate / maxRate) * top.h;
  const points = series.map((rate, i) => `${x((i + 0.5) * binS).toFixed(1)},${y(rate).toFixed(1)}`).join(' ');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="title">`,
    '<title id="title">Confirmed bookings per second with the faults marked, and the saga latency percentiles</title>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${top.x}" y="18" font-size="13">Confirmed bookings per second (bins of ${binS} s), faults marked</text>`,
    `<line x1="${top.x}" y1="${top.y + top.h}" x2="${top.x + top.w}" y2="${top.y + top.h}" stroke="#333"/>`,
    `<line x1="${top.x}" y1="${top.y}" x2="${top.x}" y2="${top.y + top.h}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const rate = (maxRate * i) / 4;
    parts.push(
      `<text x="${top.x - 6}" y="${y(rate) + 4}" text-anchor="end">${rate.toFixed(rate < 10 ? 1 : 0)}</text>`,
      `<line x1="${top.x}" y1="${y(rate)}" x2="${top.x + top.w}" y2="${y(rate)}" stroke="#eee"/>`,
    );
  }
  const step = Math.max(10, Math.ceil(spanS / 10 / 10) * 10);
  for (let s = 0; s <= spanS; s += step) {
    parts.push(`<text x="${x(s)}" y="${top.y + top.h + 14}" text-anchor="middle">${s} s</text>`);
  }
  for (const fault of result.faults) {
    if (
      fault.firedAt === undefined ||
      fault.scheduled.kind === 'replicas' ||
      fault.scheduled.kind === 'duplicates'
    )
      continue;
    const from = (fault.firedAt - result.openedAt) / 1000;
    const colour = KIND_COLOURS[fault.scheduled.kind];
    if (fault.endedAt !== undefined && fault.endedAt - fault.firedAt > 1000) {
      const to = (fault.endedAt - result.openedAt) / 1000;
      parts.push(
        `<rect x="${x(from)}" y="${top.y}" width="${Math.max(1, x(to) - x(from))}" height="${top.h}" fill="${colour}" fill-opacity="0.12"/>`,
      );
    }
    parts.push(
      `<line x1="${x(from)}" y1="${top.y}" x2="${x(from)}" y2="${top.y + top.h}" stroke="${colour}" stroke-width="1" stroke-dasharray="3,2"><title>${esc(`${fault.scheduled.kind} ${fault.scheduled.target} pid ${fault.pid ?? '?'} at ${from.toFixed(1)} s`)}</title></line>`,
      `<text x="${x(from) + 2}" y="${top.y + 8}" fill="${colour}" font-size="9" transform="rotate(90 ${x(from) + 2} ${top.y + 8})">${esc(fault.scheduled.target)}</text>`,
    );
  }
  parts.push(`<polyline points="${points}" fill="none" stroke="#111" stroke-width="1.5"/>`);
  let lx = top.x;
  for (const [kind, colour] of Object.entries(KIND_COLOURS)) {
    parts.push(`<rect x="${lx}" y="${top.y + top.h + 24}" width="10" height="10" fill="${colour}"/>`);
    parts.push(`<text x="${lx + 14}" y="${top.y + top.h + 33}">${kind}</text>`);
    lx += 90;
  }

  parts.push(
    `<text x="${top.x}" y="${bars.y - 12}" font-size="13">Saga latency (request to its end), ms</text>`,
  );
  const rows = [
    ['confirmed', result.latency.confirmed],
    ['cancelled', result.latency.cancelled],
  ] as const;
  const maxMs = Math.max(1, ...rows.flatMap(([, p]) => [p.p99].filter(Number.isFinite)));
  const barH = 10;
  rows.forEach(([label, p], row) => {
    (['p50', 'p95', 'p99'] as const).forEach((name, i) => {
      const value = p[name];
      const yy = bars.y + row * 55 + i * (barH + 4);
      const w = Number.isFinite(value) ? (value / maxMs) * bars.w : 0;
      parts.push(
        `<text x="${bars.x - 8}" y="${yy + 9}" text-anchor="end">${label} ${name}</text>`,
        `<rect x="${bars.x}" y="${yy}" width="${w.toFixed(1)}" height="${barH}" fill="${label === 'confirmed' ? '#2ca02c' : '#7f7f7f'}"/>`,
        `<text x="${(bars.x + w + 4).toFixed(1)}" y="${yy + 9}">${Number.isFinite(value) ? Math.round(value) : 'n/a'}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function markdownReport(result: ChaosResult, svgFile: string): string {
  const f = result.flags;
  const ok = result.failures.length === 0;
  const at = (t: number | undefined) =>
    t === undefined ? '–' : `${((t - result.openedAt) / 1000).toFixed(1)} s`;
  const lines: string[] = [
    `# Chaos run, ${new Date(result.startedAt).toISOString()}: ${ok ? 'invariants held' : 'FAILED'}`,
    '',
    `A flash sale through the gateway with the waiting room in front, ${f.buyers} buyers for ${f.tickets} tickets over two ` +
      `ticket types (cards: 80 % good, the rest declined; about 8 % of the buyers cancel), while faults fire for ` +
      `${f.durationS} s. Seed ${f.seed}; faults: ${f.faults.join(', ') || 'none'}.`,
    '',
    `Command: \`${result.command}\``,
    '',
    `Stack start ${seconds(result.stackStartMs)}; sale ${seconds(result.finishedAt - result.openedAt)} from opening to ` +
      `the last check; wall time ${seconds(result.finishedAt - result.startedAt)}.`,
    '',
    ...(ok ? [] : ['## Failures', '', ...result.failures.map((x) => `- ${x}`), '']),
    `![bookings per second with the faults marked](${svgFile})`,
    '',
    '## Outcome',
    '',
    `| confirmed | cancelled | still open | buyers admitted | reservations placed | refused at placing | gave up | retried calls |`,
    '|---|---|---|---|---|---|---|---|',
    `| ${result.outcomes.confirmed} | ${
      Object.entries(result.outcomes.cancelled)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ') || '0'
    } | ${result.outcomes.open} | ${result.buyers.admitted} / ${result.buyers.total} | ${result.buyers.placed} | ${
      Object.entries(result.buyers.refused)
        .map(([why, n]) => `${why} ×${n}`)
        .join(', ') || '0'
    } | ${result.buyers.gaveUp} | ${result.buyers.retries} |`,
    '',
    ...(result.buyers.gaveUpExamples.length > 0
      ? ['Buyers who gave up, e.g.:', '', ...result.buyers.gaveUpExamples.map((x) => `- ${x}`), '']
      : []),
    '| saga latency | count | p50 | p95 | p99 | max |',
    '|---|---|---|---|---|---|',
    ...(['confirmed', 'cancelled'] as const).map((k) => {
      const p = result.latency[k];
      const v = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');
      return `| ${k} | ${p.count} | ${v(p.p50)} | ${v(p.p95)} | ${v(p.p99)} | ${v(p.max)} |`;
    }),
    '',
    '## Faults',
    '',
    'Time from the opening. Recovery: from the fault (a pause: its resume; a rolling restart: its last step) until a saga ' +
      'next ended other than by expiry or by its user (bookings flowing again).',
    '',
    '| # | kind | target | scheduled | fired | pid | ended | recovery | detail |',
    '|---|---|---|---|---|---|---|---|---|',
    ...result.faults.map(
      (x, i) =>
        `| ${i + 1} | ${x.scheduled.kind} | ${x.scheduled.target} | ${x.scheduled.atS.toFixed(1)} s | ${
          x.firedAt === undefined ? '**did not fire**' : at(x.firedAt)
        } | ${x.pid ?? '–'} | ${at(x.endedAt)} | ${
          x.recoveryMs === undefined ? '–' : x.recoveryMs === null ? 'none after it' : seconds(x.recoveryMs)
        } | ${x.detail ?? ''} |`,
    ),
    '',
    `Restarts by the supervisor: ${result.restarts.length} (${result.restarts.filter((r) => !r.ok).length} failed).`,
    '',
    '| process | died | back after | attempts | new pid |',
    '|---|---|---|---|---|',
    ...result.restarts.map(
      (r) =>
        `| ${r.name} | ${at(r.diedAt)} | ${r.ok ? seconds(r.tookMs) : '**not back**'} | ${r.attempts} | ${r.pid ?? '–'} |`,
    ),
    '',
    ...(result.duplicatesCopied === undefined
      ? []
      : [
          `Duplicate delivery: ${result.duplicatesCopied} saga events republished with their CloudEvent ids.`,
          '',
        ]),
    '## Invariants',
    '',
    '| invariant | held | counted |',
    '|---|---|---|',
    ...result.checks.map(
      (c) => `| ${c.name} | ${c.ok ? 'yes' : '**NO**'} | ${c.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
    '## Dead letters',
    '',
    ...(result.deadLetters.length === 0
      ? ['None.']
      : [
          '| topic | CloudEvent id | reservation | reason | expected |',
          '|---|---|---|---|---|',
          ...result.deadLetters.map(
            (l) =>
              `| ${l.topic ?? '?'} | ${l.cloudEventId} | ${l.reservationId ?? '–'} | ${l.reason.replace(/\|/g, '\\|')} | ${l.expected ? 'yes' : '**no**'} |`,
          ),
        ]),
    '',
    '## Traces',
    '',
    `${result.traces.candidates} confirmed bookings ran entirely in a window without faults; ${result.traces.checked.length} ` +
      `checked in Jaeger, ${result.traces.incomplete.length} incomplete.`,
    ...result.traces.incomplete.map(
      (t) => `- ${t.reservationId} (trace ${t.traceId ?? 'none'}): ${t.missing}`,
    ),
    '',
  ];
  return lines.join('\n');
}

// The flags of `npm run bench`, checked before anything starts: an unknown flag, a missing value or one
// out of its range is refused with one line that names it and says what is accepted.
import { parseArgs } from 'node:util';

export const STRATEGIES = ['batched', 'atomic', 'pessimistic'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const STAGES = ['allocation', 'flash-sale', 'chain'] as const;
export type Stage = (typeof STAGES)[number];

export type BenchFlags = {
  buyers: number;
  tickets: number;
  concurrency: number;
  settleTimeoutS: number;
  strategies: Strategy[];
  stages: Stage[];
  allocationRequests: number;
  allocationTickets: number;
  /** Rounds of each system in the chain stage (systems alternating); figures are their medians. */
  rounds: number;
  /** Where every trace of the chain stage is written (JSON lines), if anywhere. */
  tracesOut: string | undefined;
  /**
   * Where ReserveX's services write a V8 CPU profile each (`<dir>/<app>/`, on their exit; the
   * allocation stage's inventory `<dir>/allocation-<strategy>/`), if anywhere.
   */
  cpuProf: string | undefined;
  /** The whole run stops by itself after this long. */
  maxMinutes: number;
};

/** Integer flags: default and accepted range. */
const integers = {
  buyers: { flag: 'buyers', default: 500, min: 1, max: 20_000 },
  tickets: { flag: 'tickets', default: 100, min: 1, max: 20_000 },
  concurrency: { flag: 'concurrency', default: 50, min: 1, max: 1000 },
  settleTimeoutS: { flag: 'settle-timeout-s', default: 300, min: 5, max: 3600 },
  allocationRequests: { flag: 'allocation-requests', default: 3000, min: 1, max: 100_000 },
  allocationTickets: { flag: 'allocation-tickets', default: 1000, min: 1, max: 100_000 },
  rounds: { flag: 'rounds', default: 3, min: 1, max: 20 },
  maxMinutes: { flag: 'max-minutes', default: 120, min: 1, max: 600 },
} as const;

export const USAGE = [
  'npm run bench -- [flags]',
  ...Object.values(integers).map((i) => `  --${i.flag} <${i.min}–${i.max}> (default ${i.default})`),
  `  --strategies <${STRATEGIES.join(',')}> (default all)`,
  `  --stages <${STAGES.join(',')}> (default all)`,
  '  --traces-out <file>  keep every trace of the chain stage (JSON lines)',
  "  --cpu-prof <dir>  a V8 CPU profile of each of ReserveX's services, <dir>/<app>/*.cpuprofile",
].join('\n');

export type Parsed = { ok: true; flags: BenchFlags } | { ok: false; message: string };

function listOf<T extends string>(name: string, text: string, known: readonly T[]): T[] | string {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return `--${name} needs at least one of ${known.join(', ')}`;
  for (const item of items)
    if (!(known as readonly string[]).includes(item))
      return `--${name}: unknown value ${item} (known: ${known.join(', ')})`;
  return [...new Set(items)] as T[];
}

export function parseBenchFlags(argv: readonly string[]): Parsed {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(Object.values(integers).map((i) => [i.flag, { type: 'string' as const }])),
        strategies: { type: 'string' },
        stages: { type: 'string' },
        'traces-out': { type: 'string' },
        'cpu-prof': { type: 'string' },
      },
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    return { ok: false, message: (error as Error).message.split('\n')[0]! };
  }
  const numbers: Partial<Record<keyof typeof integers, number>> = {};
  for (const [key, spec] of Object.entries(integers) as [
    keyof typeof integers,
    (typeof integers)[keyof typeof integers],
  ][]) {
    const text = values[spec.flag];
    const value = text === undefined ? spec.default : Number(text);
    if (!Number.isInteger(value) || value < spec.min || value > spec.max)
      return {
        ok: false,
        message: `--${spec.flag} must be an integer from ${spec.min} to ${spec.max}, not ${text}`,
      };
    numbers[key] = value;
  }
  const strategies = listOf('strategies', values.strategies ?? STRATEGIES.join(','), STRATEGIES);
  if (typeof strategies === 'string') return { ok: false, message: strategies };
  const stages = listOf('stages', values.stages ?? STAGES.join(','), STAGES);
  if (typeof stages === 'string') return { ok: false, message: stages };
  const tracesOut = values['traces-out'];
  if (tracesOut !== undefined && tracesOut.trim() === '')
    return { ok: false, message: '--traces-out needs a file name' };
  if (tracesOut !== undefined && !stages.includes('chain'))
    return { ok: false, message: '--traces-out keeps the chain stage’s traces: add chain to --stages' };
  const cpuProf = values['cpu-prof'];
  if (cpuProf !== undefined && cpuProf.trim() === '')
    return { ok: false, message: '--cpu-prof needs a directory' };
  const n = numbers as Record<keyof typeof integers, number>;
  if (n.tickets > n.buyers)
    return {
      ok: false,
      message: `--tickets (${n.tickets}) must not exceed --buyers (${n.buyers}): the sale must sell out`,
    };
  return {
    ok: true,
    flags: {
      buyers: n.buyers,
      tickets: n.tickets,
      concurrency: n.concurrency,
      settleTimeoutS: n.settleTimeoutS,
      strategies,
      stages,
      allocationRequests: n.allocationRequests,
      allocationTickets: n.allocationTickets,
      rounds: n.rounds,
      tracesOut,
      cpuProf,
      maxMinutes: n.maxMinutes,
    },
  };
}

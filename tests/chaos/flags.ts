// The chaos run's command line: how many buyers and tickets, how long the faults run, the seed of the
// fault schedule and the buyers' choices, and which kinds of fault. Refuses what it cannot run with
// one line naming the flag.
import { parseArgs } from 'node:util';

/** Every kind of fault a run can inject (see schedule.ts for what each does). */
export const faultKinds = ['kill', 'infra', 'pause', 'duplicates', 'replicas', 'rolling'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface ChaosFlags {
  buyers: number;
  /** Tickets over the sale's two ticket types (the first gets the larger half). */
  tickets: number;
  /** Seconds during which buyers arrive and faults fire. */
  durationS: number;
  seed: number;
  faults: readonly FaultKind[];
  /** Seconds between two SIGKILLs of a service or sidecar. */
  killEveryS: number;
  /** How long the paused service stays stopped; longer than the delivery timeout. */
  pauseS: number;
  /** Share of saga events published a second time with their CloudEvent id. */
  duplicateShare: number;
  /** Upper bound on the quiet period after the sale in which every saga must end. */
  settleS: number;
  /** Name of the report files (`chaos-<label>-<time>`). */
  label: string;
  /** Directory the report goes to, relative to the repository root. */
  reports: string;
}

export const defaults = {
  buyers: 2000,
  tickets: 500,
  durationS: 180,
  seed: 1,
  faults: faultKinds,
  killEveryS: 6,
  pauseS: 35,
  duplicateShare: 0.1,
  settleS: 240,
  label: 'run',
  reports: 'tests/bench/reports',
} as const satisfies ChaosFlags;

export const usage = `npm run chaos -- [--buyers N] [--tickets N] [--duration SECONDS] [--seed N]
    [--faults ${faultKinds.join(',')}] [--kill-every SECONDS] [--pause SECONDS]
    [--duplicates SHARE] [--settle SECONDS] [--label NAME] [--reports DIR]`;

/** The flags, or the reason they are refused. */
export function parseFlags(argv: readonly string[]): { flags: ChaosFlags } | { error: string } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        buyers: { type: 'string' },
        tickets: { type: 'string' },
        duration: { type: 'string' },
        seed: { type: 'string' },
        faults: { type: 'string' },
        'kill-every': { type: 'string' },
        pause: { type: 'string' },
        duplicates: { type: 'string' },
        settle: { type: 'string' },
        label: { type: 'string' },
        reports: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return { error: (error as Error).message };
  }
  const problems: string[] = [];
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  };
  const buyers = integer('buyers', defaults.buyers, 1, 20_000);
  const tickets = integer('tickets', defaults.tickets, 2, 10_000);
  const durationS = integer('duration', defaults.durationS, 20, 3600);
  const seed = integer('seed', defaults.seed, 0, 2 ** 31 - 1);
  const killEveryS = integer('kill-every', defaults.killEveryS, 2, 600);
  const pauseS = integer('pause', defaults.pauseS, 1, 600);
  const settleS = integer('settle', defaults.settleS, 10, 3600);

  let faults: readonly FaultKind[] = defaults.faults;
  if (values.faults !== undefined) {
    const listed = String(values.faults)
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    const unknown = listed.filter((f) => f !== 'none' && !(faultKinds as readonly string[]).includes(f));
    if (unknown.length > 0 || (listed.length === 0 && values.faults !== 'none')) {
      problems.push(
        `--faults: unknown fault kind ${unknown.join(', ') || '(empty)'} (known: ${faultKinds.join(', ')}, or none)`,
      );
    } else {
      faults = listed.filter((f) => f !== 'none') as FaultKind[];
    }
  }

  let duplicateShare: number = defaults.duplicateShare;
  if (values.duplicates !== undefined) {
    const share = Number(values.duplicates);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(String(values.duplicates)) || share <= 0 || share > 1)
      problems.push(
        `--duplicates must be a share above 0 and at most 1 (got ${JSON.stringify(values.duplicates)})`,
      );
    else duplicateShare = share;
  }

  const label = values.label === undefined ? defaults.label : String(values.label);
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(label))
    problems.push('--label must be lower-case letters, digits and dashes (at most 41)');

  const reports = values.reports === undefined ? defaults.reports : String(values.reports).trim();
  if (reports === '' || reports.startsWith('-')) problems.push('--reports must name a directory');

  if (problems.length === 0) {
    if (tickets > buyers)
      problems.push(
        `--tickets (${tickets}) must not exceed --buyers (${buyers}): a flash sale has more buyers than tickets`,
      );
    if (faults.includes('pause') && pauseS >= durationS)
      problems.push(`--pause (${pauseS} s) must be shorter than --duration (${durationS} s)`);
    if (faults.includes('kill') && killEveryS >= durationS)
      problems.push(`--kill-every (${killEveryS} s) must be shorter than --duration (${durationS} s)`);
  }
  if (problems.length > 0) return { error: problems.join('\n') };
  return {
    flags: {
      buyers,
      tickets,
      durationS,
      seed,
      faults,
      killEveryS,
      pauseS,
      duplicateShare,
      settleS,
      label,
      reports,
    },
  };
}

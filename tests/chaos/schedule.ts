// The fault schedule of a chaos run, made from its seed alone: the same seed and flags give the same
// faults at the same offsets against the same targets, so a failing run can be repeated.
import type { ChaosFlags, FaultKind } from './flags.ts';

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}

export type InfraTarget = 'kafka' | 'redis' | 'postgres';

export type ScheduledFault =
  /** SIGKILL of a service instance (`payment`, `inventory.2`) or its sidecar (`payment.daprd`). */
  | { kind: 'kill'; atS: number; target: string }
  /** SIGKILL of an infrastructure server, restarted by the supervisor. */
  | { kind: 'infra'; atS: number; target: InfraTarget }
  /** SIGSTOP of a service instance, SIGCONT `forS` seconds later. */
  | { kind: 'pause'; atS: number; target: string; forS: number }
  /** A share of saga events republished with their CloudEvent ids, from the start of the sale. */
  | { kind: 'duplicates'; atS: number; target: string; share: number }
  /** Second instances of these services, running from before the sale. */
  | { kind: 'replicas'; atS: number; target: string }
  /** Every service instance stopped and started again, one at a time. */
  | { kind: 'rolling'; atS: number; target: string };

export interface ScheduleInput {
  flags: Pick<ChaosFlags, 'seed' | 'durationS' | 'faults' | 'killEveryS' | 'pauseS' | 'duplicateShare'>;
  /** Every service instance of the run, by process name (`payment`, `inventory.2`). */
  instances: readonly string[];
  /** Instances that consume saga events (the ones a pause can hold up). */
  consumers: readonly string[];
  /** The services that run a second instance. */
  replicated: readonly string[];
  /** The duplicating app's name. */
  duplicator: string;
}

/** A target is killed again only this long after its last kill: it must have come back first. */
const SAME_TARGET_GAP_S = 20;

const round = (seconds: number) => Math.round(seconds * 10) / 10;

export function faultSchedule(input: ScheduleInput): ScheduledFault[] {
  const { flags } = input;
  const random = seededRandom(flags.seed);
  const d = flags.durationS;
  const wanted = (kind: FaultKind) => flags.faults.includes(kind);
  const faults: ScheduledFault[] = [];
  // The first bookings run without faults: their traces must be complete, and they show the rate
  // the platform reaches undisturbed.
  const calmS = Math.max(8, Math.round(d * 0.1));

  if (wanted('replicas')) {
    for (const service of input.replicated) faults.push({ kind: 'replicas', atS: 0, target: `${service}.2` });
  }
  if (wanted('duplicates')) {
    faults.push({ kind: 'duplicates', atS: 0, target: input.duplicator, share: flags.duplicateShare });
  }

  // Infrastructure: each server once, spread over the sale, in a seeded order.
  if (wanted('infra')) {
    const servers: InfraTarget[] = ['kafka', 'redis', 'postgres'];
    for (let i = servers.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [servers[i], servers[j]] = [servers[j]!, servers[i]!];
    }
    servers.forEach((target, i) => {
      const atS = round(d * (0.15 + 0.25 * i) + random() * d * 0.05);
      faults.push({ kind: 'infra', atS, target });
    });
  }

  let pause: { from: number; to: number; target: string } | undefined;
  if (wanted('pause')) {
    const target = pick(random, input.consumers);
    const atS = round(Math.max(calmS, Math.min(d * 0.3, d - flags.pauseS - 2)) + random() * 2);
    faults.push({ kind: 'pause', atS, target, forS: flags.pauseS });
    pause = { from: atS, to: atS + flags.pauseS, target };
  }

  // The rolling restart takes the last quarter; kills stay out of it (it restarts every instance).
  const rollingAt = wanted('rolling') ? round(d * 0.72) : d;
  if (wanted('rolling')) faults.push({ kind: 'rolling', atS: rollingAt, target: 'every service instance' });

  if (wanted('kill')) {
    const lastKill = new Map<string, number>();
    for (let at = calmS + random() * flags.killEveryS; round(at) < Math.min(rollingAt, d - 3); ) {
      const candidates = input.instances
        .flatMap((instance) => [instance, `${instance}.daprd`])
        .filter((target) => (lastKill.get(target) ?? -Infinity) + SAME_TARGET_GAP_S <= at)
        .filter(
          (target) => !pause || at < pause.from - 2 || at > pause.to + 2 || !target.startsWith(pause.target),
        );
      if (candidates.length > 0) {
        const target = pick(random, candidates);
        faults.push({ kind: 'kill', atS: round(at), target });
        lastKill.set(target, at);
      }
      at += flags.killEveryS * (0.75 + random() * 0.5);
    }
  }
  return faults.sort((a, b) => a.atS - b.atS);
}

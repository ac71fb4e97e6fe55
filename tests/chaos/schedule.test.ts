import { describe, expect, it } from 'vitest';
import { defaults } from './flags.ts';
import { faultSchedule, type ScheduleInput, seededRandom } from './schedule.ts';

const input = (over: Partial<ScheduleInput['flags']> = {}): ScheduleInput => ({
  flags: { ...defaults, ...over },
  instances: [
    'gateway',
    'queue',
    'queue.2',
    'inventory',
    'inventory.2',
    'reservation',
    'payment',
    'ticket',
    'query',
  ],
  consumers: ['inventory', 'inventory.2', 'reservation', 'payment', 'ticket', 'query'],
  replicated: ['queue', 'inventory', 'reservation'],
  duplicator: 'saga-duplicator',
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    const c = seededRandom(4);
    const take = (r: () => number) => Array.from({ length: 5 }, r);
    const first = take(a);
    expect(take(b)).toEqual(first);
    expect(take(c)).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('faultSchedule', () => {
  it('is the same for the same seed and another for another seed', () => {
    expect(faultSchedule(input({ seed: 1 }))).toEqual(faultSchedule(input({ seed: 1 })));
    expect(faultSchedule(input({ seed: 2 }))).not.toEqual(faultSchedule(input({ seed: 1 })));
  });

  it('has every kind asked for, each infrastructure server once, all within the sale', () => {
    const schedule = faultSchedule(input());
    const kinds = new Set(schedule.map((f) => f.kind));
    expect([...kinds].sort()).toEqual([...defaults.faults].sort());
    expect(
      schedule
        .filter((f) => f.kind === 'infra')
        .map((f) => f.target)
        .sort(),
    ).toEqual(['kafka', 'postgres', 'redis']);
    expect(schedule.every((f) => f.atS >= 0 && f.atS < defaults.durationS)).toBe(true);
    // The opening runs undisturbed: only the standing conditions (replicas, duplicates) start at once.
    const calm = schedule.filter((f) => f.atS < defaults.durationS * 0.1);
    expect(calm.every((f) => f.kind === 'replicas' || f.kind === 'duplicates')).toBe(true);
    const pause = schedule.find((f) => f.kind === 'pause');
    expect(pause && pause.atS + defaults.pauseS).toBeLessThan(defaults.durationS);
  });

  it('kills every few seconds, services and sidecars, never the same one twice within 20 s, none during the rolling restart', () => {
    const schedule = faultSchedule(input());
    const kills = schedule.filter((f) => f.kind === 'kill');
    expect(kills.length).toBeGreaterThan(defaults.durationS / defaults.killEveryS / 2);
    expect(kills.some((k) => k.target.endsWith('.daprd'))).toBe(true);
    expect(kills.some((k) => !k.target.endsWith('.daprd'))).toBe(true);
    const last = new Map<string, number>();
    for (const kill of kills) {
      expect(kill.atS - (last.get(kill.target) ?? -100)).toBeGreaterThanOrEqual(19.9);
      last.set(kill.target, kill.atS);
    }
    const rolling = schedule.find((f) => f.kind === 'rolling')!;
    expect(kills.every((k) => k.atS < rolling.atS)).toBe(true);
  });

  it('leaves out the kinds not asked for', () => {
    expect(faultSchedule(input({ faults: ['kill'] })).every((f) => f.kind === 'kill')).toBe(true);
    expect(faultSchedule(input({ faults: [] }))).toEqual([]);
  });
});

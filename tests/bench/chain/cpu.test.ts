import { describe, expect, it } from 'vitest';
import { cpuBetween, parseStat, treeCpuMs } from './cpu.ts';

describe('CPU per process from /proc', () => {
  it('reads the parent and the ticks of a stat line, whatever its command name holds', () => {
    const line =
      '4242 (post gres: (x) idle) S 4000 4242 4242 0 -1 4194304 100 0 0 0 7 3 2 1 20 0 1 0 500 1000 10 18446744073709551615';
    expect(parseStat(line)).toEqual({ pid: 4242, ppid: 4000, ticks: 13 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('adds each root’s descendants to it', () => {
    const stats = [
      { pid: 1, ppid: 0, ticks: 1000 },
      { pid: 10, ppid: 1, ticks: 50 },
      { pid: 11, ppid: 10, ticks: 20 },
      { pid: 12, ppid: 10, ticks: 30 },
      { pid: 20, ppid: 1, ticks: 7 },
    ];
    const cpu = treeCpuMs(stats, { postgres: 10, app: 20, gone: 99, none: undefined });
    const tick = cpu.app! / 7;
    expect(cpu.postgres! / tick).toBeCloseTo(100);
    expect(cpu.gone).toBe(0);
    expect(cpu.none).toBe(0);
  });

  it('takes what was spent between two samples', () => {
    expect(cpuBetween({ a: 10, b: 5 }, { a: 25, b: 5, c: 3 })).toEqual({ a: 15, b: 0, c: 3 });
  });
});

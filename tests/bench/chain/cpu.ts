// CPU time per process, read from /proc: each named process with its descendants (Postgres's
// backends are children of the postmaster), so a round's CPU is the difference of two samples.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export type ProcStat = { pid: number; ppid: number; ticks: number };

/**
 * One line of /proc/<pid>/stat: its parent and its CPU ticks (user + system, and those of its
 * children it has waited for, so a backend that exits between two samples still counts).
 */
export function parseStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(line.slice(0, line.indexOf(' ')));
  // After the command name: state is field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17.
  const fields = line.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isFinite(ticks)) return undefined;
  return { pid, ppid, ticks };
}

/** CPU milliseconds of each root and all its descendants, from a table of every process. */
export function treeCpuMs(stats: readonly ProcStat[], roots: Record<string, number | undefined>) {
  const children = new Map<number, ProcStat[]>();
  const byPid = new Map<number, ProcStat>();
  for (const stat of stats) {
    byPid.set(stat.pid, stat);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  }
  const result: Record<string, number> = {};
  for (const [name, root] of Object.entries(roots)) {
    let ticks = 0;
    const stack = root !== undefined && byPid.has(root) ? [byPid.get(root)!] : [];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const stat = stack.pop()!;
      if (seen.has(stat.pid)) continue;
      seen.add(stat.pid);
      ticks += stat.ticks;
      stack.push(...(children.get(stat.pid) ?? []));
    }
    result[name] = (ticks * 1000) / CLOCK_TICKS;
  }
  return result;
}

function readAll(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat) stats.push(stat);
    } catch {
      // gone between the listing and the read
    }
  }
  return stats;
}

/** CPU milliseconds so far of each named process tree. */
export function sampleCpu(roots: Record<string, number | undefined>): Record<string, number> {
  return treeCpuMs(readAll(), roots);
}

/** What each process tree spent between two samples. */
export function cpuBetween(before: Record<string, number>, after: Record<string, number>) {
  return Object.fromEntries(
    Object.entries(after).map(([name, ms]) => [name, Math.max(0, ms - (before[name] ?? 0))]),
  );
}

// The short chaos run on every change: exactly `npm run test:chaos` (300 buyers for 80 tickets
// through the gateway and the waiting room, 60 s of SIGKILLed services and sidecars, a saga consumer
// paused past the delivery timeout, duplicated saga events and second replicas, seed 1), on an
// infrastructure of its own so its kills never reach the other files' stack. It passes when the run
// exits 0 — every invariant held, every scheduled fault fired, every process came back, the sampled
// traces complete — and its report says so.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, signalGroup } from '@reservex/local';
import { describe, expect, it } from 'vitest';

/** The run bounds itself (start, quiet period, checks); this only catches a run that ignores them. */
const BOUND_MS = 9 * 60_000;

interface Run {
  code: number | null;
  lines: string[];
}

function runShortChaos(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'test:chaos'], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    const collect = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const bound = setTimeout(() => {
      lines.push(`test: the run passed its ${BOUND_MS / 60_000} min bound, stopping it`);
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    }, BOUND_MS);
    child.once('error', (error) => {
      clearTimeout(bound);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(bound);
      if (partial) lines.push(partial);
      resolve({ code, lines });
    });
  });
}

describe('chaos, short version', () => {
  it(
    'a flash sale under kills, a pause, duplicates and replicas ends with every invariant held',
    async () => {
      const run = await runShortChaos();
      const failed = run.lines.filter((line) => /FAILED|BROKE|did NOT fire|the run failed/.test(line));
      const tail = run.lines.slice(-40).join('\n');
      expect(failed, `failures reported by the run:\n${tail}`).toEqual([]);
      expect(run.code, `exit code of npm run test:chaos:\n${tail}`).toBe(0);

      // What it checked, as it printed it: the invariants (each held) and the faults (each fired).
      const held = run.lines.filter((line) => /\] held /.test(line));
      expect(held.length, tail).toBeGreaterThanOrEqual(8);
      const summary = run.lines.find((line) => /faults fired;/.test(line));
      const [, fired, scheduled] = /(\d+)\/(\d+) faults fired/.exec(summary ?? '') ?? [];
      expect(Number(scheduled), tail).toBeGreaterThan(4);
      expect(fired).toBe(scheduled);
      const [, confirmed] = /\] (\d+) confirmed,/.exec(summary ?? '') ?? [];
      expect(Number(confirmed), 'bookings confirmed under the faults').toBeGreaterThan(0);

      const reportLine = run.lines.find((line) => /\] report: /.test(line));
      const report = join(repoRoot, reportLine?.split('report: ')[1] ?? 'missing');
      expect(existsSync(report), `report ${report}`).toBe(true);
      expect(readFileSync(report, 'utf8').split('\n')[0]).toMatch(/: invariants held$/);
    },
    BOUND_MS + 60_000,
  );
});

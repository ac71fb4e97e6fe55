// A paused process holds its port and answers nothing until it is resumed; a paused process can
// still be stopped. Chaos runs pause a service longer than the delivery timeout this way.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { restartable } from './control.ts';
import { freePort } from './ports.ts';
import { httpOk, waitUntil } from './readiness.ts';
import { createRun, type Run } from './run.ts';

/** The kernel's state letter of a process: R/S running or sleeping, T stopped. */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

describe('pause and resume of a process', () => {
  const parent = mkdtempSync(join(tmpdir(), 'reservex-control-'));
  let run: Run;
  let url: string;
  let control: ReturnType<typeof restartable>;

  beforeAll(async () => {
    run = createRun({ label: 'control', parentDir: parent, watchdog: false });
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    control = restartable(run, {
      spec: { name: 'echo', command: process.execPath, args: ['-e', server] },
      ready: (started) => waitUntil('echo', () => httpOk(url), { timeoutMs: 20_000, process: started }),
    });
    await control.start();
  });

  afterAll(async () => {
    await run?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('a paused process answers nothing, keeps its pid, and answers again once resumed', async () => {
    const pid = control.pid();
    expect(control.pause()).toBe(pid);
    // The kernel stops the process as the signal is delivered, a moment after it was sent.
    await vi.waitFor(() => expect(stateOf(pid!)).toBe('T'), { timeout: 5000, interval: 20 });
    await expect(httpOk(url)).rejects.toThrow();
    expect(control.running()).toBe(true);

    expect(control.resume()).toBe(pid);
    await vi.waitFor(() => expect(stateOf(pid!)).not.toBe('T'), { timeout: 5000, interval: 20 });
    expect(await httpOk(url)).toBe(true);
    expect(control.pid()).toBe(pid);
  });

  it('a paused process can be stopped (and restarted)', async () => {
    control.pause();
    const exit = await control.stop();
    expect(exit?.requested).toBe(true);
    expect(exit?.signal).toBe('SIGTERM');
    expect(control.running()).toBe(false);
    expect(control.pause()).toBeUndefined();
    await control.restart();
    expect(await httpOk(url)).toBe(true);
  });
});

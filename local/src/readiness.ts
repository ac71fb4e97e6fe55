// Bounded waits for a process to become ready. A wait fails early, with the end of the process's log,
// when the process exits, and with the last failed check when the deadline passes.
import { connect } from 'node:net';
import { type Supervised, tailOf } from './supervisor.ts';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** The process whose readiness is awaited: its death ends the wait at once. */
  process?: Supervised;
}

/** Polls `check` until it returns true; `check` may throw (counted as not ready yet). */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  while (true) {
    if (options.process && !options.process.running()) {
      const exit = await options.process.exit;
      throw new Error(
        `${what}: ${options.process.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; ` +
          `log ${options.process.logFile}:\n${tailOf(options.process.logFile)}`,
      );
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      const log = options.process
        ? `; log ${options.process.logFile}:\n${tailOf(options.process.logFile)}`
        : '';
      throw new Error(
        `${what}: not ready after ${options.timeoutMs} ms${lastError ? ` (${lastError})` : ''}${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  return response.ok;
}

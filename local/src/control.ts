// A restartable process of a run: stop it, crash it (SIGKILL), start it again with the same command,
// ports and data, and wait until it is ready. Every incarnation appends to the same log file.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from './run.ts';
import { type Exit, type ProcessSpec, type Supervised, signalGroup } from './supervisor.ts';

export interface ProcessControl {
  /** Stop signal (SIGTERM unless the program wants another), bounded; then SIGKILL. */
  stop(): Promise<Exit | undefined>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<Exit | undefined>;
  /**
   * SIGSTOP to its process group: it stays alive, holds its ports and connections, and answers
   * nothing until `resume` (a process frozen by the machine, a stop-the-world pause). Returns the
   * pid it paused, or undefined when it was not running.
   */
  pause(): number | undefined;
  /** SIGCONT to its process group; returns the pid, or undefined when it was not running. */
  resume(): number | undefined;
  /** Stops it if running, starts it again with the same command line and data, waits until ready. */
  restart(): Promise<void>;
  running(): boolean;
  pid(): number | undefined;
  logFile: string;
  /** Its log so far. */
  logs(): string;
}

export interface RestartableSpec {
  spec: Omit<ProcessSpec, 'logFile'>;
  /** Resolves once the process serves; rejects (with its log) if it dies or the deadline passes. */
  ready(process: Supervised): Promise<void>;
}

export interface Restartable extends ProcessControl {
  /** First start. */
  start(): Promise<void>;
  /** The current incarnation, if one was started. */
  current(): Supervised | undefined;
}

export function restartable(run: Run, { spec, ready }: RestartableSpec): Restartable {
  let current: Supervised | undefined;
  const logFile = join(run.logsDir, `${spec.name}.log`);
  const start = async () => {
    current = run.spawn({ ...spec, logFile });
    await ready(current);
  };
  const stop = async () => {
    if (!current?.running()) return undefined;
    // A paused process cannot act on the stop signal: let it run again first.
    signalGroup(current.pid, 'SIGCONT');
    return current.stop();
  };
  const signal = (name: NodeJS.Signals) => {
    if (!current?.running()) return undefined;
    signalGroup(current.pid, name);
    return current.pid;
  };
  return {
    logFile,
    start,
    stop,
    kill: async () => (current?.running() ? current.kill() : undefined),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async restart() {
      await stop();
      appendFileSync(logFile, `\n----- restart of ${spec.name} at ${new Date().toISOString()} -----\n`);
      await start();
    },
    running: () => current?.running() ?? false,
    pid: () => (current?.running() ? current.pid : undefined),
    current: () => current,
    logs: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

// Child processes of a running stack. Each runs in its own process group (so stopping it also stops
// whatever it forked), writes stdout+stderr to one log file, and carries RESERVEX_RUN=<run dir> in
// its environment so a later start can recognise and reap it if its owner died without cleaning up.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { say } from './progress.ts';

export interface ProcessSpec {
  /** Short name used in progress lines and the combined log tail. */
  name: string;
  command: string;
  args: readonly string[];
  /** Added to the parent's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  logFile: string;
  /** Run as this user (Postgres refuses to run as root). */
  user?: { uid: number; gid: number };
  /** How to ask for a clean shutdown; SIGTERM unless the program wants another (Postgres: SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** How long a clean shutdown may take before the group is killed. */
  stopTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (stop/kill), false when it died on its own. */
  requested: boolean;
}

export interface Supervised {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  running(): boolean;
  /** Settles when the process has exited (never rejects). */
  readonly exit: Promise<Exit>;
  /** Stop signal to the group, then SIGKILL after the stop timeout. */
  stop(): Promise<Exit>;
  /** SIGKILL to the group at once: a crash, as chaos tests want it. */
  kill(): Promise<Exit>;
}

export interface SpawnHooks {
  /** Called once the child has a pid (the run records it for reaping). */
  onSpawn?(pid: number, name: string): void;
  /** Called when it exits. */
  onExit?(exit: Exit, name: string): void;
}

export function spawnSupervised(spec: ProcessSpec, runDir: string, hooks: SpawnHooks = {}): Supervised {
  const log = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, RESERVEX_RUN: runDir },
      stdio: ['ignore', log, log],
      detached: true,
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${spec.name} (${spec.command}): see ${spec.logFile}`);
  }
  hooks.onSpawn?.(pid, spec.name);

  let requested = false;
  let alive = true;
  const exit = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      alive = false;
      say(`${spec.name}: ${error.message}`);
      const info = { code: null, signal: null, requested };
      hooks.onExit?.(info, spec.name);
      resolve(info);
    });
    child.once('exit', (code, signal) => {
      alive = false;
      // Whatever the leader left behind in its group goes with it.
      signalGroup(pid, 'SIGKILL');
      const info = { code, signal, requested };
      hooks.onExit?.(info, spec.name);
      resolve(info);
    });
  });

  const stop = async (): Promise<Exit> => {
    if (!alive) return exit;
    requested = true;
    signalGroup(pid, spec.stopSignal ?? 'SIGTERM');
    const timeout = spec.stopTimeoutMs ?? 10_000;
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeout);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  };

  const kill = async (): Promise<Exit> => {
    if (!alive) return exit;
    requested = true;
    signalGroup(pid, 'SIGKILL');
    return exit;
  };

  return {
    name: spec.name,
    logFile: spec.logFile,
    pid,
    running: () => alive,
    exit,
    stop,
    kill,
  };
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** The last lines of a log file, to put in an error message when a process fails to come up. */
export function tailOf(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

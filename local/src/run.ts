// A run: one directory holding the data, logs and Dapr resources of processes started together, and
// the record of their pids. A watchdog process stops them if the owner dies without stopping them
// (a test worker killed mid-run), and the next start reaps runs whose owner and watchdog are gone.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCacheEnv, runsDir } from './paths.ts';
import { say } from './progress.ts';
import { type ProcessSpec, type Supervised, signalGroup, spawnSupervised } from './supervisor.ts';

const PIDS_FILE = 'pids';
const OWNER_FILE = 'owner';

export interface Run {
  readonly dir: string;
  readonly logsDir: string;
  /** Starts a process of this run; its log goes to logs/<name>.log. */
  spawn(spec: Omit<ProcessSpec, 'logFile'> & { logFile?: string }): Supervised;
  /** Every process started in this run that has not exited. */
  live(): Supervised[];
  /** Called when a process exits without being asked to. */
  onUnexpectedExit(listener: (process: Supervised) => void): void;
  /** Stops every live process (reverse start order), then the watchdog. */
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Directory name prefix, e.g. `infra` or `apps`. */
  label: string;
  /** Parent directory (another run's dir, for apps started against shared infra). */
  parentDir?: string;
  /** Start a watchdog that stops this run's processes if this process dies. Default true. */
  watchdog?: boolean;
}

let counter = 0;

export function createRun(options: RunOptions): Run {
  const parent = options.parentDir ?? runsDir();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const dir = join(parent, `${options.label}-${stamp}-${process.pid}-${counter++}`);
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
  writeFileSync(join(dir, PIDS_FILE), '');

  const processes: Supervised[] = [];
  const listeners: ((process: Supervised) => void)[] = [];
  const watchdog = options.watchdog === false ? undefined : startWatchdog(dir);

  const run: Run = {
    dir,
    logsDir,
    spawn(spec) {
      const logFile = spec.logFile ?? join(logsDir, `${spec.name}.log`);
      let supervised: Supervised | undefined;
      supervised = spawnSupervised({ ...spec, logFile }, dir, {
        onSpawn: (pid, name) => appendFileSync(join(dir, PIDS_FILE), `${pid} ${name}\n`),
        onExit: (exit) => {
          if (!exit.requested && supervised) for (const listener of listeners) listener(supervised);
        },
      });
      processes.push(supervised);
      return supervised;
    },
    live: () => processes.filter((p) => p.running()),
    onUnexpectedExit(listener) {
      listeners.push(listener);
    },
    async stop() {
      for (const process of [...processes].reverse()) {
        if (process.running()) await process.stop();
      }
      if (watchdog !== undefined) signalGroup(watchdog, 'SIGTERM');
    },
  };
  return run;
}

/**
 * A detached `node watchdog.ts <run dir> <owner pid>`: it outlives a crashed owner and reaps the run.
 * Without it, a test worker killed by a timeout would leave daprd, Kafka and Postgres running.
 */
function startWatchdog(dir: string): number | undefined {
  const script = fileURLToPath(new URL('./watchdog.ts', import.meta.url));
  const child = spawn(process.execPath, [script, dir, String(process.pid)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...compileCacheEnv(), RESERVEX_RUN: `${dir}/watchdog` },
  });
  child.unref();
  return child.pid;
}

/** True if `pid` is alive and was started by the run in `dir` (guards against reused pids). */
export function belongsToRun(pid: number, dir: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`RESERVEX_RUN=${dir}`);
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every recorded process of the run in `dir` that is still alive; returns how many. */
export function reapRun(dir: string): number {
  let reaped = 0;
  let lines: string[] = [];
  try {
    lines = readFileSync(join(dir, PIDS_FILE), 'utf8').split('\n');
  } catch {
    return 0;
  }
  for (const line of lines) {
    const pid = Number(line.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && belongsToRun(pid, dir)) {
      signalGroup(pid, 'SIGKILL');
      reaped++;
    }
  }
  return reaped;
}

/** Prefix of a run directory being deleted (renamed first, so nothing takes it for a run). */
const DELETING = '.deleting-';

/**
 * Reaps runs (and nested app runs) whose owner is dead, and deletes old run directories, keeping
 * the newest `keep` so their logs can still be read after a failure. Deleting a run's data takes
 * seconds on some disks (thousands of files, Kafka's preallocated segments), so the directories are
 * renamed out of the way at once and removed by a detached `rm` that nobody waits for (one
 * interrupted is finished by the next call).
 */
export function reapStaleRuns(keep = 5): void {
  const root = runsDir();
  if (!existsSync(root)) return;
  const entries = readdirSync(root);
  const doomed = entries.filter((name) => name.startsWith(DELETING)).map((name) => join(root, name));
  const runs = entries
    .filter((name) => !name.startsWith(DELETING))
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, OWNER_FILE)))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const [index, dir] of runs.entries()) {
    const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    if (isAlive(owner)) continue;
    const nested = readdirSync(dir)
      .map((name) => join(dir, name))
      .filter((sub) => existsSync(join(sub, PIDS_FILE)));
    const reaped = [dir, ...nested].reduce((sum, d) => sum + reapRun(d), 0);
    if (reaped > 0) say(`reaped ${reaped} leftover process(es) of ${dir}`);
    if (index < keep) continue;
    const target = join(root, `${DELETING}${basename(dir)}`);
    try {
      renameSync(dir, target);
      doomed.push(target);
    } catch {
      // Another start renamed it first.
    }
  }
  if (doomed.length === 0) return;
  spawn('rm', ['-rf', '--', ...doomed], { detached: true, stdio: 'ignore' }).unref();
}

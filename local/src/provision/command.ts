// Runs a provisioning command to completion, its output appended to a log file; a failure names the
// command and shows the end of that log.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { say } from '../progress.ts';
import { signalGroup, tailOf } from '../supervisor.ts';

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  logFile: string;
  /** Upper bound; the command is killed after it. */
  timeoutMs: number;
  user?: { uid: number; gid: number };
  /** Aborting kills the command (a sibling step failed, or the user pressed Ctrl-C). */
  signal?: AbortSignal;
  /** Prints "<label>: still running (N min)" every minute, so a long build is visibly alive. */
  heartbeat?: string;
}

// Commands run in their own process group (a build's compilers die with it); these groups are
// killed if this process exits before they finish, so no build outlives the provisioner.
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) signalGroup(pid, 'SIGKILL');
});

export async function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<void> {
  options.signal?.throwIfAborted();
  const log = openSync(options.logFile, 'a');
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', log, log],
        detached: true,
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      });
      const pid = child.pid;
      if (pid !== undefined) running.add(pid);
      const kill = () => pid !== undefined && signalGroup(pid, 'SIGKILL');
      const timer = setTimeout(kill, options.timeoutMs);
      const beat = options.heartbeat
        ? setInterval(
            () =>
              say(`${options.heartbeat}: still running (${Math.round((Date.now() - started) / 60_000)} min)`),
            60_000,
          )
        : undefined;
      options.signal?.addEventListener('abort', kill, { once: true });
      const done = () => {
        clearTimeout(timer);
        clearInterval(beat);
        options.signal?.removeEventListener('abort', kill);
        if (pid !== undefined) running.delete(pid);
      };
      child.once('error', (error) => {
        done();
        reject(new Error(`${command}: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        done();
        if (code === 0) return resolve();
        const why = options.signal?.aborted
          ? 'stopped'
          : signal
            ? `killed by ${signal}${Date.now() - started >= options.timeoutMs ? ` after the ${options.timeoutMs / 60_000} min limit` : ''}`
            : `exit code ${code}`;
        reject(
          new Error(
            `${command} ${args.join(' ')} failed (${why}); log ${options.logFile}:\n${tailOf(options.logFile)}`,
          ),
        );
      });
    });
  } finally {
    closeSync(log);
  }
}

/** The absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && isExecutable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

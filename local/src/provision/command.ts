// Runs a provisioning command to completion, its output appended to a log file; a failure names the
// command and shows the end of that log.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { tailOf } from '../supervisor.ts';

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  logFile: string;
  /** Upper bound; the command is killed after it. */
  timeoutMs: number;
  user?: { uid: number; gid: number };
}

export async function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<void> {
  const log = openSync(options.logFile, 'a');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', log, log],
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${command}: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else {
          const why = signal ? `killed by ${signal}` : `exit code ${code}`;
          reject(
            new Error(
              `${command} ${args.join(' ')} failed (${why}); log ${options.logFile}:\n${tailOf(options.logFile)}`,
            ),
          );
        }
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

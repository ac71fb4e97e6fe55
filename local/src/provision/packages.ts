// Postgres, Redis, a JVM and Maven come from Debian packages when the machine lacks them. Only the
// binaries are used: our servers run from run directories on their own ports, never the system
// services the packages may set up.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { elapsed, say } from '../progress.ts';
import { isExecutable, onPath, runCommand } from './command.ts';
import { javaBinary } from './kafka.ts';

const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest installed Postgres server (initdb, postgres), if any. */
export function findPostgresBin(): string | undefined {
  if (process.env.RESERVEX_PG_BIN) return process.env.RESERVEX_PG_BIN;
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = readdirSync(POSTGRES_ROOT)
    .filter((v) => isExecutable(join(POSTGRES_ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(POSTGRES_ROOT, versions[0], 'bin');
}

export function findRedisServer(): string | undefined {
  return (
    process.env.RESERVEX_REDIS_SERVER ??
    onPath('redis-server') ??
    ['/usr/bin/redis-server'].find(isExecutable)
  );
}

/** Debian packages still needed, by what they provide. */
export function missingPackages(): string[] {
  const missing: string[] = [];
  if (!findPostgresBin()) missing.push('postgresql');
  if (!findRedisServer()) missing.push('redis-server');
  if (!javaBinary()) missing.push('openjdk-17-jre-headless');
  if (!onPath('mvn')) missing.push('maven');
  return missing;
}

export async function provisionPackages(cache: string, signal?: AbortSignal): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.join(', ')}: install them (sudo apt-get install -y ${missing.join(' ')})`,
    );
  }
  const started = performance.now();
  say(`packages: installing ${missing.join(', ')} with apt-get`);
  const options = {
    logFile: join(cache, 'logs', 'provision-apt.log'),
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 15 * 60_000,
    signal,
  };
  await runCommand('apt-get', ['update', '-q'], options);
  await runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], options);
  const still = missingPackages();
  if (still.length > 0) throw new Error(`apt-get finished but ${still.join(', ')} still missing`);
  say(`packages: installed in ${elapsed(started)}`);
}

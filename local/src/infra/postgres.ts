// A throw-away Postgres cluster in the run directory: trust auth on 127.0.0.1 only, no fsync, one
// database per service created on demand.
import { chownSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { type Restartable, restartable } from '../control.ts';
import { runCommand } from '../provision/command.ts';
import { waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';

export const POSTGRES_USER = 'reservex';

export interface PostgresInfo {
  host: string;
  port: number;
  user: string;
  /** URL of the maintenance database `postgres`. */
  url: string;
}

/** Postgres refuses to run as root; then it runs as the `postgres` user the Debian package creates. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      'running as root needs a `postgres` user to run the Postgres server (apt-get install postgresql)',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** Where the run's Postgres on `port` answers (known before it does). */
export function postgresInfo(port: number): PostgresInfo {
  return {
    host: '127.0.0.1',
    port,
    user: POSTGRES_USER,
    url: `postgres://${POSTGRES_USER}@127.0.0.1:${port}/postgres`,
  };
}

export function databaseUrl(info: PostgresInfo, database: string): string {
  return `postgres://${info.user}@${info.host}:${info.port}/${database}`;
}

export async function startPostgres(
  run: Run,
  bin: string,
  port: number,
): Promise<{ info: PostgresInfo; process: Restartable }> {
  const dir = join(run.dir, 'postgres');
  const data = join(dir, 'data');
  const user = serverUser();
  mkdirSync(data, { recursive: true, mode: 0o700 });
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(data, user.uid, user.gid);
  }
  const logFile = join(run.logsDir, 'postgres-initdb.log');
  await runCommand(
    join(bin, 'initdb'),
    ['-D', data, '-U', POSTGRES_USER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
    { logFile, timeoutMs: 120_000, ...(user ? { user } : {}) },
  );
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '300',
    // No fsync: a test run's data need not survive the machine crashing. Commits stay synchronous
    // (written to the OS before they return), so a Postgres killed with SIGKILL loses nothing.
    fsync: 'off',
    full_page_writes: 'off',
    log_min_messages: 'warning',
  };
  const info = postgresInfo(port);
  const process = restartable(run, {
    spec: {
      name: 'postgres',
      command: join(bin, 'postgres'),
      args: ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      stopSignal: 'SIGINT', // fast shutdown: do not wait for clients to disconnect
      ...(user ? { user } : {}),
    },
    ready: (started) =>
      waitUntil('postgres', () => query(info.url, async (sql) => (await sql`select 1 as ok`).length === 1), {
        timeoutMs: 60_000,
        process: started,
      }),
  });
  await process.start();
  return { info, process };
}

async function query<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, idle_timeout: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Creates the database if it does not exist yet (safe to call from several processes at once). */
export async function ensureDatabase(info: PostgresInfo, database: string): Promise<string> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(database)) throw new Error(`not a database name: ${database}`);
  await query(info.url, async (sql) => {
    const exists = await sql`select 1 from pg_database where datname = ${database}`;
    if (exists.length > 0) return;
    try {
      await sql.unsafe(`create database "${database}"`);
    } catch (error) {
      // Another caller created it between our check and our create.
      const code = (error as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw error;
    }
  });
  return databaseUrl(info, database);
}

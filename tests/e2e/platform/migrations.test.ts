// The races around a service's migrations, on real Postgres: the chart's migration Job and the pods'
// own start-up migration run at once, on a database that may still be empty. Two migrate commands
// started together must both succeed, and each migration must be applied exactly once.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrateCommandOf } from '@reservex/contracts';
import { ensureDatabase } from '@reservex/local';
import postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';

const infra = inject('infra');
const repoRoot = join(import.meta.dirname, '../../..');

function runMigrate(databaseUrl: string): Promise<{ code: number | null; stderr: string }> {
  const [, ...args] = migrateCommandOf('reservation');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 90_000,
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('migrations', () => {
  it('two migrate commands started at once on an empty database both succeed, each migration applied once', async () => {
    const url = await ensureDatabase(infra.postgres, `migrate_race_${randomBytes(4).toString('hex')}`);
    const results = await Promise.all([runMigrate(url), runMigrate(url)]);
    expect(results).toEqual([
      { code: 0, stderr: '' },
      { code: 0, stderr: '' },
    ]);

    const journal = JSON.parse(
      readFileSync(join(repoRoot, 'services/reservation/drizzle/meta/_journal.json'), 'utf8'),
    ) as { entries: unknown[] };
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      const applied = await sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
      expect(applied).toHaveLength(journal.entries.length);
      const [reservations] = await sql<{ exists: boolean }[]>`
        select to_regclass('public.reservations') is not null as exists`;
      expect(reservations?.exists).toBe(true);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

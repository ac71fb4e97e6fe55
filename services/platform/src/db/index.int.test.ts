// Migrations on real Postgres: applied once even when replicas start together, and idempotent.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { databaseUrl, ensureDatabase } from '@reservex/local';
import { describe, expect, inject, it } from 'vitest';
import * as schema from '../testing/schema.ts';
import { createDatabase, databaseReady, migrate, waitForDatabase } from './index.ts';

const infra = inject('infra');
const migrations = fileURLToPath(new URL('../testing/drizzle', import.meta.url));

describe('migrate', () => {
  it('three migrators on a fresh database at once all succeed, and the migration is applied once', async () => {
    const url = await ensureDatabase(infra.postgres, `platform_migrate_${randomBytes(4).toString('hex')}`);
    // Pools of one connection, as a migration command would open: the lock does not depend on them.
    const replicas = [0, 1, 2].map(() => createDatabase(url, schema, { max: 1 }));
    try {
      await Promise.all(replicas.map(() => migrate(url, migrations)));
      const [applied] = await replicas[0]!.sql<{ count: number }[]>`
        select count(*)::int as count from drizzle.__drizzle_migrations`;
      expect(applied?.count).toBe(1);
      await migrate(url, migrations);
      const tables = await replicas[0]!.sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      expect(tables.map((t) => t.table_name)).toEqual(['counters', 'inbox', 'outbox']);
      await expect(databaseReady(replicas[2]!.sql)).resolves.toBeUndefined();
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  it('readiness fails for an unreachable database', async () => {
    const unreachable = createDatabase('postgres://nobody@127.0.0.1:1/none', schema, {
      connectTimeoutSeconds: 1,
    });
    try {
      await expect(databaseReady(unreachable.sql)).rejects.toThrow();
    } finally {
      await unreachable.close(1);
    }
  });
});

describe('start-up before the database is there', () => {
  it('waits for a database the operator has not created yet, then migrates it', async () => {
    const name = `platform_wait_${randomBytes(4).toString('hex')}`;
    const url = databaseUrl(infra.postgres, name);
    let settled = false;
    const migrating = migrate(url, migrations, { waitMs: 60_000 }).finally(() => {
      settled = true;
    });
    // It keeps retrying (3D000: no such database) instead of failing: a window, not a condition.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(settled).toBe(false);
    await ensureDatabase(infra.postgres, name);
    await migrating;
    const database = createDatabase(url, schema, { max: 1 });
    try {
      const [applied] = await database.sql<{ count: number }[]>`
        select count(*)::int as count from drizzle.__drizzle_migrations`;
      expect(applied?.count).toBe(1);
    } finally {
      await database.close();
    }
  });

  it('gives up after its wait with one clear line', async () => {
    await expect(
      waitForDatabase('postgres://nobody@127.0.0.1:1/none', { waitMs: 1500, firstDelayMs: 100 }),
    ).rejects.toThrow(/^database not reachable after \d+ attempts in 2s \(last: ECONNREFUSED\)$/);
  });

  it('fails at once on an error that is not "not there yet"', async () => {
    // A session the server refuses for another reason than a missing database or role: an invalid
    // setting in the URL's options (FATAL 22023 invalid parameter value). Not wrapped as a wait.
    const url = `${databaseUrl(infra.postgres, 'postgres')}?options=-c%20statement_timeout%3Dnope`;
    await expect(waitForDatabase(url, { waitMs: 30_000 })).rejects.toMatchObject({ code: '22023' });
  });
});

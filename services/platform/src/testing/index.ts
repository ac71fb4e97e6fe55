// Test harness for the services' integration tests (never imported by production code): a database
// of the test file's own on the stack's Postgres, migrated once, as a file-scoped vitest fixture.
//
//   const it = withMigratedDatabase({ name: 'ticket_int', schema, migrations });
//   it('…', async ({ database }) => { … database.db … });
//   it('…', async ({ databaseUrl }) => { … a pool of its own … });
import { randomUUID } from 'node:crypto';
import type { EventOf, Topic } from '@reservex/contracts';
import { ensureDatabase } from '@reservex/local';
import { sql } from 'drizzle-orm';
import { inject, test } from 'vitest';
import { createDatabase, type DatabaseHandle, type Executor, migrate, type Schema } from '../db/index.ts';
import type { BatchEntry, DeliveryContext } from '../events/index.ts';
import { logger, trace } from '../telemetry/index.ts';

export interface MigratedDatabaseOptions<S extends Schema> {
  /** Prefix of the database's name; a random suffix keeps reruns and files apart. */
  name: string;
  schema: S;
  /** The service's drizzle migrations folder. */
  migrations: string;
  /** Pool size; 8 unless the file runs more concurrent work. */
  max?: number;
}

/** `test` with a `database` fixture (and its `databaseUrl`, for a second pool or a raw client): created
 *  and migrated for the file's first test that asks for either, closed after its last. */
export function withMigratedDatabase<S extends Schema>(options: MigratedDatabaseOptions<S>) {
  return test.extend<{ databaseUrl: string; database: DatabaseHandle<S> }>({
    databaseUrl: [
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
      async ({}, use) => {
        const name = `${options.name}_${randomUUID().slice(0, 8)}`;
        const url = await ensureDatabase(inject('infra').postgres, name);
        await migrate(url, options.migrations);
        await use(url);
      },
      { scope: 'file' },
    ],
    database: [
      async ({ databaseUrl }, use) => {
        const database = createDatabase(databaseUrl, options.schema, { max: options.max ?? 8 });
        try {
          await use(database);
        } finally {
          await database.close();
        }
      },
      { scope: 'file' },
    ],
  });
}

const deliverySpan = trace.getTracer('test').startSpan('delivery');

/** An event of a bulk delivery as the subscriber hands it to a batch handler. */
export function batchEntry<T extends Topic>(
  topic: T,
  event: EventOf<T>,
  id: string = randomUUID(),
  traceparent?: string,
): BatchEntry<T> {
  const ctx: DeliveryContext = {
    id,
    topic,
    source: undefined,
    time: undefined,
    traceparent,
    tracestate: undefined,
    consumer: 'test',
    cloudEvent: { id, type: topic, data: event },
    log: logger,
  };
  return { event, ctx, within: (fn) => fn(deliverySpan) };
}

/** Which of `eventIds` the database's inbox holds (any consumer), in the order given. */
export async function inboxed(db: Executor, eventIds: readonly string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const ids = sql.join(
    eventIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const rows = (await db.execute(
    sql`select distinct event_id from inbox where event_id in (${ids})`,
  )) as unknown as {
    event_id: string;
  }[];
  const held = new Set(rows.map((row) => row.event_id));
  return eventIds.filter((id) => held.has(id));
}

// Postgres statements as spans, on real Postgres, and Redis commands next to them: what a trace of
// a request shows of its database work.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject } from 'vitest';
import { startTelemetry, type Telemetry, withSpan } from '../telemetry/index.ts';
import { withMigratedDatabase } from '../testing/index.ts';
import * as schema from '../testing/schema.ts';
import { describeStatement } from './tracing.ts';

const infra = inject('infra');
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
// Statements outside a span make no spans, so the fixture's migration leaves none behind.
const it = withMigratedDatabase({
  name: 'platform_tracing',
  schema,
  migrations: fileURLToPath(new URL('../testing/drizzle', import.meta.url)),
  max: 3,
});

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'db-tracing-test',
    logLevel: 'silent',
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
});
afterAll(async () => {
  await telemetry?.shutdown();
});
beforeEach(() => exporter.reset());

async function spans(): Promise<ReadableSpan[]> {
  await telemetry.flush();
  return exporter.getFinishedSpans();
}

const dbSpans = async (system: string) =>
  (await spans()).filter((s) => s.attributes['db.system.name'] === system);

describe('Postgres statements', () => {
  it('are client spans of the active span, with the database conventions, transactions included', async ({
    database,
    databaseUrl,
  }) => {
    const parent = await withSpan('work', {}, async (span) => {
      await database.db.insert(schema.counters).values({ name: 'a', value: 1 });
      await database.db.transaction(async (tx) => {
        await tx.select().from(schema.counters);
      });
      await database.sql`select ${1}::int as one`;
      return span.spanContext();
    });
    const found = await dbSpans('postgresql');
    expect(found.map((s) => s.name)).toEqual(['INSERT counters', 'SELECT counters', 'SELECT']);
    for (const span of found) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe(parent.traceId);
      expect(span.parentSpanContext?.spanId).toBe(parent.spanId);
      expect(span.attributes['db.namespace']).toBe(new URL(databaseUrl).pathname.slice(1));
      expect(span.attributes['server.port']).toBe(infra.postgres.port);
    }
    const insert = found.find((s) => s.name === 'INSERT counters');
    expect(insert?.attributes).toMatchObject({
      'db.operation.name': 'INSERT',
      'db.collection.name': 'counters',
      'db.response.returned_rows': 1,
    });
    // Values travel as parameters, never in the text.
    expect(String(insert?.attributes['db.query.text'])).toMatch(/insert into "counters".*\$1/i);
    expect(found.find((s) => s.name === 'SELECT')?.attributes['db.query.text']).toBe('select $1::int as one');
  });

  it('records a failed statement as an error', async ({ database }) => {
    await withSpan('work', {}, async () => {
      await database.sql`select * from no_such_table`.catch(() => undefined);
    });
    const [failed] = await dbSpans('postgresql');
    expect(failed?.name).toBe('SELECT no_such_table');
    expect(failed?.status.code).toBe(2);
    expect(failed?.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('start no trace of their own outside a span', async ({ database }) => {
    await database.sql`select 1`;
    await database.db.select().from(schema.counters);
    expect(await dbSpans('postgresql')).toEqual([]);
  });
});

describe('Redis commands', () => {
  it('are client spans of the active span, without their arguments', async () => {
    const redis = new Redis(infra.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const key = `tracing:${randomBytes(4).toString('hex')}`;
      await withSpan('work', {}, async () => {
        await redis.set(key, 'secret-value');
        await redis.get(key);
      });
      await redis.del(key);
      const found = await dbSpans('redis');
      expect(found.map((s) => s.name)).toEqual(['SET', 'GET']);
      for (const span of found) {
        expect(span.kind).toBe(SpanKind.CLIENT);
        expect(JSON.stringify(span.attributes)).not.toContain('secret-value');
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('describeStatement', () => {
  it('names the operation and the table it works on', () => {
    expect(describeStatement('select "id" from "outbox" where x = $1')).toEqual({
      operation: 'SELECT',
      collection: 'outbox',
    });
    expect(describeStatement('update outbox set sent_at = now()')).toEqual({
      operation: 'UPDATE',
      collection: 'outbox',
    });
    expect(describeStatement('begin')).toEqual({ operation: 'BEGIN', collection: undefined });
  });
});

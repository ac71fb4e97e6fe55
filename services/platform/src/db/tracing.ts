// Spans for Postgres statements. postgres.js has no OpenTelemetry instrumentation and drizzle's
// tracer is not wired to anything, so the client itself is wrapped: every statement run inside a
// span (a request, a delivery, a publish) becomes a CLIENT span with the OpenTelemetry database
// conventions (db.system.name, db.namespace, db.operation.name, db.collection.name, db.query.text,
// server.address/port). Statements outside any span (the relay's polling, LISTEN) start no trace of
// their own. postgres.js sends values as parameters, so the query text carries no data.
import type postgres from 'postgres';
import { type Attributes, recordError, SpanKind, trace, tracer } from '../telemetry/index.ts';

type Sql = postgres.Sql;
type AnyFunction = (...args: unknown[]) => unknown;
type Pending = { then: PromiseLike<unknown>['then'] };

const MAX_QUERY_TEXT = 2000;

/** The first keyword and the table a statement works on, for the span name. */
export function describeStatement(text: string): { operation: string; collection: string | undefined } {
  const sql = text.replace(/--[^\n]*\n/g, ' ').trim();
  const operation = (/^\(?\s*([a-z]+)/i.exec(sql)?.[1] ?? 'SQL').toUpperCase();
  const clause =
    operation === 'INSERT'
      ? /\binto\s+("?[\w.]+"?)/i
      : operation === 'UPDATE'
        ? /^update\s+("?[\w.]+"?)/i
        : operation === 'SELECT' || operation === 'DELETE' || operation === 'WITH'
          ? /\bfrom\s+("?[\w.]+"?)/i
          : undefined;
  const collection = clause?.exec(sql)?.[1]?.replaceAll('"', '');
  return { operation, collection };
}

/** `sql` whose statements, and those of its transactions and reserved connections, are traced. */
export function traceStatements(sql: Sql): Sql {
  const options = sql.options as { host?: string[]; port?: number[]; database?: string };
  const common: Attributes = {
    'db.system.name': 'postgresql',
    ...(options.database ? { 'db.namespace': options.database } : {}),
    ...(options.host?.[0] ? { 'server.address': options.host[0] } : {}),
    ...(options.port?.[0] ? { 'server.port': options.port[0] } : {}),
  };

  const traced = <T>(query: T, text: string): T => {
    if (!isPending(query)) return query;
    const then = query.then;
    let started = false;
    // postgres.js runs a statement when it is first awaited; the span covers that run.
    // biome-ignore lint/suspicious/noThenProperty: the query is a thenable already; this wraps its then.
    query.then = function (this: Pending, onFulfilled, onRejected) {
      if (!started) {
        started = true;
        if (trace.getActiveSpan()) {
          const { operation, collection } = describeStatement(text);
          const span = tracer().startSpan(collection ? `${operation} ${collection}` : operation, {
            kind: SpanKind.CLIENT,
            attributes: {
              ...common,
              'db.operation.name': operation,
              ...(collection ? { 'db.collection.name': collection } : {}),
              'db.query.text': text.length > MAX_QUERY_TEXT ? `${text.slice(0, MAX_QUERY_TEXT)}…` : text,
            },
          });
          then.call(
            this,
            (result) => {
              const count = (result as { count?: unknown } | null)?.count;
              if (typeof count === 'number') span.setAttribute('db.response.returned_rows', count);
              span.end();
            },
            (error: unknown) => {
              recordError(span, error);
              span.end();
            },
          );
        }
      }
      return then.call(this, onFulfilled, onRejected);
    } as Pending['then'];
    return query;
  };

  const wrap = (client: Sql): Sql =>
    new Proxy(client, {
      apply(target, self, args: unknown[]) {
        const result = Reflect.apply(target as unknown as AnyFunction, self, args);
        const strings = args[0];
        if (Array.isArray(strings) && 'raw' in strings) {
          return traced(
            result,
            (strings as string[]).reduce((text, part, i) => `${text}$${i}${part}`),
          );
        }
        return result;
      },
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = value as AnyFunction;
        switch (property) {
          case 'unsafe':
            return (text: string, ...rest: unknown[]) => traced(method.call(target, text, ...rest), text);
          // Transactions and savepoints hand their body a client of their own: trace it too.
          case 'begin':
          case 'savepoint':
            return (...args: unknown[]) => {
              const body = args.at(-1) as (tx: Sql) => unknown;
              return method.call(target, ...args.slice(0, -1), (tx: Sql) => body(wrap(tx)));
            };
          case 'reserve':
            return async (...args: unknown[]) => wrap((await method.call(target, ...args)) as Sql);
          default:
            return method.bind(target);
        }
      },
    });

  return wrap(sql);
}

function isPending(value: unknown): value is Pending {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

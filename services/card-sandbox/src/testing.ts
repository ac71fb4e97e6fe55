// The sandbox inside a test process, on a real Postgres ledger: for the tests of its callers that run
// without the local stack (payment's integration tests). The transport honours the caller's abort
// signal as a network would, so timeouts behave as they do over HTTP.
import { fileURLToPath } from 'node:url';
import { createDatabase, migrate } from '@reservex/platform/db';
import { createCardSandboxApp } from './app.ts';
import { type LedgerEntry, ledgerOf } from './db/ledger.ts';
import { schema } from './db/schema.ts';

export type InProcessSandbox = {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
  /** Every charge recorded with this reference, with its refund. */
  ledger(reference: string): Promise<LedgerEntry[]>;
  close(): Promise<void>;
};

export async function inProcessSandbox(options: {
  databaseUrl: string;
  slowResponseMs?: number;
  flakyFailures?: number;
}): Promise<InProcessSandbox> {
  const database = createDatabase(options.databaseUrl, schema, { max: 4 });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)));
  const apiKey = 'in-process-sandbox-key-for-tests';
  const app = createCardSandboxApp({
    db: database.db,
    apiKey,
    slowResponseMs: options.slowResponseMs ?? 5,
    flakyFailures: options.flakyFailures ?? 2,
  });
  const transport: typeof fetch = (input, init) => {
    const answer = Promise.resolve(app.request(input, init));
    const signal = init?.signal;
    if (!signal) return answer;
    return new Promise<Response>((resolve, reject) => {
      const abort = () => reject(signal.reason);
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
    });
  };
  return {
    baseUrl: 'http://card-sandbox.test',
    apiKey,
    fetch: transport,
    ledger: (reference) => ledgerOf(database.db, reference),
    close: () => database.close(),
  };
}

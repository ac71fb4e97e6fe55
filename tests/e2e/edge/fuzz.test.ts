// The public API fuzzed through the gateway with schemathesis (provisioned by tools/schemathesis.sh):
// every operation of the public OpenAPI document, as a signed-in user and as an administrator (real
// tokens from sign-up and login), with schemathesis' response checks on: no answer ≥ 500, every
// status code, content type, header and body as documented, data valid by the schema accepted and
// invalid data refused. Bounded in time (schemathesis' --max-time per run); the two identities are
// fuzzed at the same time, each run in its own directory.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AppId } from '@reservex/contracts';
import type { StartedApps } from '@reservex/local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, newSigningKey, openShow, type SigningKey, startEdge } from './support.ts';

const execFileAsync = promisify(execFile);
const infra = inject('infra');
const ADMIN = 'fuzz-office@reservex.test';
const PASSWORD = 'correct horse battery staple';
/** Seconds of fuzzing per identity (both at once): the whole file stays within about two minutes. */
const FUZZ_SECONDS = 30;

interface RunOutcome {
  exitCode: number;
  output: string;
  tested: number;
}

describe('edge: the public API under schemathesis', () => {
  let st: string;
  let key: SigningKey;
  let stack: StartedApps<AppId>;
  let gateway: string;
  let work: string;

  beforeAll(async () => {
    const provisioned = await execFileAsync('bash', [join(import.meta.dirname, 'tools/schemathesis.sh')], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    st = provisioned.stdout.trim();
    key = await newSigningKey();
    stack = await startEdge(infra, {
      signingKey: key,
      with: ['reservation', 'payment', 'ticket', 'query'],
      env: {
        account: { ADMIN_EMAILS: ADMIN },
        // The fuzzer is one busy client: the per-user limit would answer most of its calls.
        gateway: { RATE_LIMIT_USER_PER_SECOND: '5000', RATE_LIMIT_USER_BURST: '5000' },
      },
    });
    gateway = stack.apps.gateway.url;
    work = mkdtempSync(join(tmpdir(), 'reservex-fuzz-'));
    // Something to find: a show on sale.
    await openShow(gateway, key);
  }, 1_200_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function session(email: string): Promise<{ accessToken: string; roles: string[] }> {
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD },
    });
    expect([202], signup.text).toContain(signup.status);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return login.body;
  }

  async function fuzz(name: string, accessToken: string): Promise<RunOutcome> {
    const dir = join(work, name);
    mkdirSync(dir);
    const events = join(dir, 'events.ndjson');
    const schema = join(dir, 'openapi.json');
    const document = await call(gateway, 'GET', '/api/openapi.json');
    expect(document.status).toBe(200);
    writeFileSync(schema, document.text);
    let exitCode = 0;
    let output = '';
    try {
      const run = await execFileAsync(
        st,
        [
          '--config-file',
          join(import.meta.dirname, 'tools/schemathesis.toml'),
          'run',
          schema,
          '--url',
          gateway,
          '--header',
          `Authorization: Bearer ${accessToken}`,
          '--checks',
          'all',
          // Stateful checks that need resources the fuzzer cannot make (a reservation needs a pass
          // from the waiting room) or that read other users' data by design are left out.
          '--exclude-checks',
          'use_after_free,ensure_resource_availability,ignored_auth,object_level_authorization',
          // The coverage phase is left out: under this Python (3.11.7) it crashes inside hypothesis
          // (SystemError from ast.parse while describing a filter), which is no finding about the API.
          '--phases',
          'examples,fuzzing',
          '--max-time',
          String(FUZZ_SECONDS),
          '--workers',
          '2',
          '--seed',
          '20261201',
          '--request-timeout',
          '10',
          '--continue-on-failure',
          '--report',
          'ndjson',
          '--report-ndjson-path',
          events,
          '--output-sanitize',
          'true',
        ],
        // In the run's own directory: schemathesis keeps a cache of crashes where it runs.
        { cwd: dir, encoding: 'utf8', timeout: (FUZZ_SECONDS + 120) * 1000, maxBuffer: 64 * 1024 * 1024 },
      );
      output = run.stdout + run.stderr;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      exitCode = typeof failed.code === 'number' ? failed.code : 1;
      output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
    }
    return { exitCode, output, tested: testedCount(output) };
  }

  /** How many operations schemathesis reports having tested (its summary: `Tested: N`). */
  function testedCount(output: string): number {
    return Number(/Tested:\s+(\d+)/.exec(output)?.[1] ?? 0);
  }

  async function publicOperations(): Promise<string[]> {
    const document = await call<{ paths: Record<string, Record<string, unknown>> }>(
      gateway,
      'GET',
      '/api/openapi.json',
    );
    return Object.entries(document.body.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
  }

  it.concurrent('as a signed-in user: every operation, no server error, every answer as documented', async () => {
    const user = await session(`fuzz-${randomUUID()}@reservex.test`);
    const outcome = await fuzz('user', user.accessToken);
    expect(outcome.exitCode, outcome.output).toBe(0);
    expect(outcome.tested, outcome.output).toBe((await publicOperations()).length);
  });

  it.concurrent('as an administrator: every operation, no server error, every answer as documented', async () => {
    const admin = await session(ADMIN);
    expect(admin.roles).toContain('ADMIN');
    const outcome = await fuzz('admin', admin.accessToken);
    expect(outcome.exitCode, outcome.output).toBe(0);
    expect(outcome.tested, outcome.output).toBe((await publicOperations()).length);
  });
});

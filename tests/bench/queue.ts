// Waiting-room benchmark: join and position polling through the gateway (JWT check, rate limits,
// Dapr service invocation, queue, Redis), next to a bare hono "hello" measured in the same run, so
// the report says what the whole edge costs relative to the cheapest possible Node endpoint.
// Loopback only, bounded in time and connections; writes a Markdown report.
//
//   npm run bench:queue
//   npm run bench:queue -- --duration 10 --connections 50 --users 2000

import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApps, startInfra } from '@reservex/local';
import { edgeApp, mintAccessToken, newSigningKey, openShow } from '../e2e/edge/stack.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    users: { type: 'string', default: '2000' },
  },
});
const duration = bounded('duration', 1, 120);
const connections = bounded('connections', 1, 500);
const userCount = bounded('users', 1, 100_000);

function bounded(name: keyof typeof args, min: number, max: number): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}

interface Histogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface CannonResult {
  requests: Histogram & { total: number };
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (request: CannonRequest) => CannonRequest;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout?: number;
  requests?: CannonRequest[];
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: CannonOptions,
) => Promise<CannonResult>;

interface Row {
  scenario: string;
  result: CannonResult;
}

function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const infra = await startInfra({ brokerJit: 'throughput' });
  const key = await newSigningKey();
  try {
    const edge = await startApps({
      infra: infra.info,
      apps: (['account', 'gateway', 'queue', 'inventory'] as const).map((id) =>
        edgeApp(id, {
          signingKey: key,
          env: {
            gateway: {
              RATE_LIMIT_ADDRESS_PER_SECOND: '1000000',
              RATE_LIMIT_ADDRESS_BURST: '1000000',
              RATE_LIMIT_USER_PER_SECOND: '1000',
              RATE_LIMIT_USER_BURST: '1000',
              LOG_LEVEL: 'warn',
            },
            queue: { ADMISSION_RATE: '5', MAX_ACTIVE: '100', LOG_LEVEL: 'warn' },
            account: { LOG_LEVEL: 'warn' },
          },
        }),
      ),
    });
    const hello = await startApps({
      infra: infra.info,
      apps: [{ appId: 'bench-hello', args: ['tests/bench/hello-server.ts'], sidecar: false }],
    });
    try {
      const gateway = edge.apps.gateway.url;
      const { showId } = await openShow(gateway, key);
      const userIds = Array.from({ length: userCount }, () => randomUUID());
      const tokens = await Promise.all(
        userIds.map((userId) => mintAccessToken(key, { userId, ttlSeconds: 3600 })),
      );
      let next = 0;
      const asNextUser = (request: CannonRequest): CannonRequest => ({
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
      });
      // Between scenarios the stack settles: the connections autocannon drops at the end of a run
      // cancel in-flight invocations, and their tail must not be measured in the next scenario
      // (nor trip a circuit breaker, where a deployment puts one on service invocation).
      const run = async (url: string, requests?: CannonRequest[]) => {
        await new Promise((resolve) => setTimeout(resolve, 6000));
        return autocannon({ url, connections, duration, timeout: 10, ...(requests ? { requests } : {}) });
      };

      // Warm up each path briefly (JIT, connection pools, the JWKS cache), then measure.
      await autocannon({ url: `${hello.apps['bench-hello'].url}/hello`, connections: 5, duration: 1 });
      await autocannon({
        url: gateway,
        connections: 5,
        duration: 1,
        requests: [{ method: 'POST', path: `/api/v1/queue/${showId}/join`, setupRequest: asNextUser }],
      });

      // The same position call one hop at a time, to show where the time goes: the queue itself (as
      // its sidecar delivers the gateway's call: app token, calling app, identity header), then
      // through Dapr service invocation from the gateway's sidecar (with the gateway's Dapr token).
      const directHeaders = { 'dapr-api-token': edge.apps.queue.tokens.app, 'dapr-caller-app-id': 'gateway' };
      const viaDaprHeaders = { 'dapr-api-token': edge.apps.gateway.tokens.dapr };
      const asNextIdentity =
        (extra: Record<string, string>) =>
        (request: CannonRequest): CannonRequest => ({
          ...request,
          headers: { ...request.headers, ...extra, 'x-user-id': userIds[next++ % userIds.length]! },
        });
      const queueDirect = edge.apps.queue.url;
      const queueViaDapr = edge.apps.gateway.daprUrl;
      const rows: Row[] = [];
      rows.push({
        scenario: 'bare hono hello (baseline)',
        result: await run(`${hello.apps['bench-hello'].url}/hello`),
      });
      next = 0;
      rows.push({
        scenario: `join through the gateway (${userCount} users)`,
        result: await run(gateway, [
          { method: 'POST', path: `/api/v1/queue/${showId}/join`, setupRequest: asNextUser },
        ]),
      });
      // Everyone is in the room before positions are polled, so every answer is a 200.
      for (const userId of userIds) {
        const joined = await fetch(`${queueDirect}/v1/queue/${showId}/join`, {
          method: 'POST',
          headers: { ...directHeaders, 'x-user-id': userId },
        });
        await joined.arrayBuffer();
      }

      next = 0;
      rows.push({
        scenario: 'position: queue service alone',
        result: await run(queueDirect, [
          {
            method: 'GET',
            path: `/v1/queue/${showId}/position`,
            setupRequest: asNextIdentity(directHeaders),
          },
        ]),
      });
      next = 0;
      rows.push({
        scenario: 'position: queue through Dapr invocation',
        result: await run(queueViaDapr, [
          {
            method: 'GET',
            path: `/v1.0/invoke/queue/method/v1/queue/${showId}/position`,
            setupRequest: asNextIdentity(viaDaprHeaders),
          },
        ]),
      });
      next = 0;
      rows.push({
        scenario: 'position polling through the gateway',
        result: await run(gateway, [
          { method: 'GET', path: `/api/v1/queue/${showId}/position`, setupRequest: asNextUser },
        ]),
      });

      const report = render(rows, startedAt);
      const dir = join(import.meta.dirname, 'reports');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `queue-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`);
      writeFileSync(file, report);
      process.stdout.write(`${report}\nreport: ${file}\n`);
    } finally {
      await hello.stop();
      await edge.stop();
    }
  } finally {
    await infra.stop();
  }
}

function render(rows: Row[], startedAt: Date): string {
  const baseline = rows[0]!.result.requests.average;
  const lines = [
    '# Waiting-room benchmark',
    '',
    `Run ${startedAt.toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}; loopback only;`,
    `${connections} connections, ${duration} s per scenario. Command: \`npm run bench:queue -- --duration ${duration} --connections ${connections} --users ${userCount}\`.`,
    '',
    'Join and position go client → gateway (JWT verification, Redis rate limits) → gateway sidecar → queue',
    'sidecar → queue (Redis Lua / MULTI); the baseline is a bare hono app answering JSON with no middleware.',
    'The two middle rows take the position call one hop at a time. Every user has joined before positions',
    'are polled, so every answer should be a 200. Every service runs with tracing on, exporting to Jaeger,',
    'as it does in the stack.',
    '',
    '| scenario | req/s | ratio to baseline | latency p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { scenario, result } of rows) {
    const r = result;
    lines.push(
      `| ${scenario} | ${round(r.requests.average)} | ${(r.requests.average / baseline).toFixed(3)} | ${round(r.latency.p50)} | ${round(r.latency.p90)} | ${round(r.latency.p99)} | ${round(r.latency.max)} | ${r.non2xx} | ${r.errors + r.timeouts} |`,
    );
  }
  lines.push('', 'Status codes per scenario:', '');
  for (const { scenario, result } of rows) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .map(([code, stat]) => `${code}: ${stat.count}`)
      .join(', ');
    lines.push(`- ${scenario}: ${codes || 'none'}`);
  }
  lines.push('');
  return lines.join('\n');
}

await main();

// Waiting-room benchmark: join and position polling through the gateway (JWT check, rate limits,
// Dapr service invocation, queue, Redis), next to a bare hono "hello" and the no-op ceiling (a no-op
// hono gateway forwarding through two real sidecars to a no-op app) measured in the same run, so the
// report says what the edge costs relative to the cheapest Node endpoint and to the Dapr hop itself.
// Then a soak: N users hold waiting streams at the gateway (spread over several client processes)
// while the admitter works through them: streams held, memory per process and per waiting user,
// position-update lag, admissions per second, dropped streams.
// Loopback only, bounded in time and connections; writes a Markdown report.
//
//   npm run bench:queue
//   npm run bench:queue -- --duration 10 --connections 50 --users 2000 --soak-users 10000 --soak-seconds 300

import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApps, startInfra } from '@reservex/local';
import { Redis } from 'ioredis';
import { edgeApp, mintAccessToken, newSigningKey, openShow } from '../e2e/edge/stack.ts';
import type { ClientsInput, ClientsResult, ClientsStatus } from './waiting-clients.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    users: { type: 'string', default: '2000' },
    'soak-users': { type: 'string', default: '10000' },
    'soak-seconds': { type: 'string', default: '300' },
    'soak-processes': { type: 'string', default: '4' },
  },
});
const duration = bounded('duration', 1, 120);
const connections = bounded('connections', 1, 500);
const userCount = bounded('users', 1, 100_000);
const soakUsers = bounded('soak-users', 0, 18_000);
const soakSeconds = bounded('soak-seconds', 10, 900);
const soakProcesses = bounded('soak-processes', 1, 16);
/** Admissions per second during the whole run (the polled show's and the soak's). */
const ADMISSION_RATE = 10;

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
  /** Seconds to run, unless `amount` (a number of requests) ends it first. */
  duration?: number;
  amount?: number;
  timeout?: number;
  requests?: CannonRequest[];
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: CannonOptions,
) => Promise<CannonResult>;

interface Row {
  scenario: string;
  result: CannonResult;
  /** CPU milliseconds per answered request, per process on the path (sampled from /proc). */
  cpu: Record<string, number>;
  /** Of the requests, how many reached the upstream through its sidecar (when counted). */
  forwarded?: number;
}

/** A process's CPU time so far (user + system), in milliseconds; 0 once it is gone. */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (in parentheses, which may hold spaces): utime and stime are fields 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/**
 * GET requests an app's sidecar has passed to it so far (from the sidecar's metrics: its calls to
 * the app), or NaN when the sidecar does not report them.
 */
async function getsPassedToApp(app: { ports: { metrics: number } }): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${app.ports.metrics}/metrics`)).text();
    let total = 0;
    let found = false;
    for (const line of text.split('\n')) {
      if (!line.startsWith('dapr_http_client_completed_count{') || !line.includes('method="GET"')) continue;
      found = true;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return found ? total : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** The processes a request passes through: the edge app, its sidecar, the upstream's sidecar and app, Redis. */
type Path = Record<string, number | undefined>;

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
              UPSTREAM_TIMEOUT_MS: '30s',
              RATE_LIMIT_ADDRESS_PER_SECOND: '1000000',
              RATE_LIMIT_ADDRESS_BURST: '1000000',
              RATE_LIMIT_USER_PER_SECOND: '1000',
              RATE_LIMIT_USER_BURST: '1000',
              LOG_LEVEL: 'warn',
            },
            queue: { ADMISSION_RATE: String(ADMISSION_RATE), MAX_ACTIVE: '1000000', LOG_LEVEL: 'warn' },
            account: { LOG_LEVEL: 'warn' },
          },
        }),
      ),
    });
    const hello = await startApps({
      infra: infra.info,
      apps: [
        { appId: 'bench-hello', args: ['tests/bench/hello-server.ts'], sidecar: false },
        // The ceiling: the same daprd command line, mTLS and API tokens as the services.
        { appId: 'bench-noop-app', args: ['tests/bench/hello-server.ts'] },
        {
          appId: 'bench-noop-gateway',
          args: ['tests/bench/noop-gateway.ts'],
          env: { TARGET_APP_ID: 'bench-noop-app' },
        },
      ],
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
      const run = async (
        scenario: string,
        path: Path,
        url: string,
        requests?: CannonRequest[],
      ): Promise<Row> => {
        await new Promise((resolve) => setTimeout(resolve, 6000));
        const before = Object.fromEntries(Object.entries(path).map(([name, pid]) => [name, cpuMsOf(pid)]));
        const result = await autocannon({
          url,
          connections,
          duration,
          timeout: 10,
          ...(requests ? { requests } : {}),
        });
        const answered = Math.max(1, result['2xx'] + result.non2xx);
        const cpu = Object.fromEntries(
          Object.entries(path).map(([name, pid]) => [name, (cpuMsOf(pid) - before[name]!) / answered]),
        );
        return { scenario, result, cpu };
      };
      const redisPid = infra.processes.redis.pid();
      const edgePath: Path = {
        app: edge.apps.gateway.pid(),
        'app sidecar': edge.apps.gateway.sidecar?.pid(),
        'upstream sidecar': edge.apps.queue.sidecar?.pid(),
        upstream: edge.apps.queue.pid(),
        redis: redisPid,
      };
      const ceilingPath: Path = {
        app: hello.apps['bench-noop-gateway'].pid(),
        'app sidecar': hello.apps['bench-noop-gateway'].sidecar?.pid(),
        'upstream sidecar': hello.apps['bench-noop-app'].sidecar?.pid(),
        upstream: hello.apps['bench-noop-app'].pid(),
        redis: redisPid,
      };

      // Warm up each path briefly (JIT, connection pools, the JWKS cache), then measure.
      await autocannon({ url: `${hello.apps['bench-hello'].url}/hello`, connections: 5, duration: 1 });
      await autocannon({ url: `${hello.apps['bench-noop-gateway'].url}/hello`, connections: 5, duration: 1 });
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
      rows.push(
        await run(
          'bare hono hello (baseline)',
          { app: hello.apps['bench-hello'].pid() },
          `${hello.apps['bench-hello'].url}/hello`,
        ),
      );
      rows.push(
        await run(
          'no-op gateway → two sidecars → no-op app (ceiling)',
          ceilingPath,
          `${hello.apps['bench-noop-gateway'].url}/hello`,
        ),
      );
      next = 0;
      rows.push(
        await run(`join through the gateway (${userCount} users)`, edgePath, gateway, [
          { method: 'POST', path: `/api/v1/queue/${showId}/join`, setupRequest: asNextUser },
        ]),
      );
      // Everyone is in the room before positions are polled, so every answer is a 200.
      const numbers = new Map<string, number>();
      for (const [index, userId] of userIds.entries()) {
        const joined = await fetch(`${queueDirect}/v1/queue/${showId}/join`, {
          method: 'POST',
          headers: { ...directHeaders, 'x-user-id': userId },
        });
        const standing = (await joined.json()) as { number?: number };
        if (typeof standing.number === 'number') numbers.set(tokens[index]!, standing.number);
      }

      next = 0;
      rows.push(
        await run(
          'position: queue service alone',
          { upstream: edgePath.upstream, redis: redisPid },
          queueDirect,
          [
            {
              method: 'GET',
              path: `/v1/queue/${showId}/position`,
              setupRequest: asNextIdentity(directHeaders),
            },
          ],
        ),
      );
      next = 0;
      rows.push(
        await run('position: queue through Dapr invocation', { ...edgePath, app: undefined }, queueViaDapr, [
          {
            method: 'GET',
            path: `/v1.0/invoke/queue/method/v1/queue/${showId}/position`,
            setupRequest: asNextIdentity(viaDaprHeaders),
          },
        ]),
      );
      // Polling is what waiting users do: the users polled are the back half of the room, which the
      // admitter does not reach during the scenario (an admitted user has their pass and stops
      // polling), and each has polled once before it is measured, as a client polling every few
      // seconds has (a join answered by this gateway teaches it the same; these joins are older
      // than the gateway's 30 s recheck by now).
      const waitingTokens = tokens.filter((token) => (numbers.get(token) ?? 0) > userCount / 2);
      let nextWaiting = 0;
      const asNextWaitingUser = (request: CannonRequest): CannonRequest => ({
        ...request,
        headers: {
          ...request.headers,
          authorization: `Bearer ${waitingTokens[nextWaiting++ % waitingTokens.length]}`,
        },
      });
      const positionPoll = {
        method: 'GET',
        path: `/api/v1/queue/${showId}/position`,
        setupRequest: asNextWaitingUser,
      } as const;
      await autocannon({
        url: gateway,
        connections,
        amount: waitingTokens.length,
        timeout: 10,
        requests: [positionPoll],
      });
      const queueCallsBefore = await getsPassedToApp(edge.apps.queue);
      nextWaiting = 0;
      const polling = await run(
        `position polling through the gateway (${waitingTokens.length} waiting users)`,
        edgePath,
        gateway,
        [positionPoll],
      );
      polling.forwarded = (await getsPassedToApp(edge.apps.queue)) - queueCallsBefore;
      rows.push(polling);

      const soak = soakUsers > 0 ? await soakRun(edge, infra.info.redis.url, gateway, key) : undefined;
      const report = render(rows, startedAt, soak);
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

interface SoakOutcome {
  users: number;
  reserve: number;
  processes: number;
  seconds: number;
  heldAtStartOfHold: number;
  heldMin: number;
  heldMax: number;
  opened: number;
  admitted: number;
  dropped: number;
  refused: number;
  failed: Record<string, number>;
  openingMax: number;
  admissionsPerSecond: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  lagSamples: number;
  rss: Record<string, { beforeMb: number; peakMb: number }>;
  /** CPU each process used during the hold, in percent of one core. */
  cpu: Record<string, number>;
  perUserKb: number;
  load: string;
}

type Edge = Awaited<ReturnType<typeof startApps<'account' | 'gateway' | 'queue' | 'inventory'>>>;

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Users of a fresh show hold waiting streams at the gateway while the admitter works through them;
 * opening is paced, then every stream is held for `soakSeconds`.
 */
async function soakRun(
  edge: Edge,
  redisUrl: string,
  gateway: string,
  key: Awaited<ReturnType<typeof newSigningKey>>,
) {
  const { showId } = await openShow(gateway, key);
  const openPerSecond = 400;
  const rampMs = (soakUsers / openPerSecond) * 1000;
  const usersOf = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => mintAccessToken(key, { userId: randomUUID(), ttlSeconds: 7200 })),
    );
  // Users join through the gateway, about in order (50 at a time).
  const joinAll = async (tokens: string[]) => {
    for (let i = 0; i < tokens.length; i += 50) {
      await Promise.all(
        tokens.slice(i, i + 50).map(async (token) => {
          const joined = await fetch(`${gateway}/api/v1/queue/${showId}/join`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          });
          await joined.arrayBuffer();
          if (joined.status !== 200) throw new Error(`a soak user could not join: ${joined.status}`);
        }),
      );
    }
  };
  const firstJoin = Date.now();
  const initial = await usersOf(soakUsers);
  await joinAll(initial);
  // Behind them wait as many more as the admitter lets in from the first join to the end of the hold
  // (joining them takes as long again, proportionally): each takes the place of an admitted user, so
  // the streams held stay at soakUsers while the room moves.
  const joiningS = (Date.now() - firstJoin) / 1000;
  const reserveCount = Math.ceil(
    ADMISSION_RATE * (joiningS * 1.5 + rampMs / 1000 + 5 + soakSeconds + 10) * 1.1,
  );
  const reserve = await usersOf(reserveCount);
  await joinAll(reserve);
  const tokens = [...initial, ...reserve];
  const processes = {
    gateway: edge.apps.gateway.pid(),
    'gateway sidecar': edge.apps.gateway.sidecar?.pid(),
    queue: edge.apps.queue.pid(),
    'queue sidecar': edge.apps.queue.sidecar?.pid(),
  };
  const rss: SoakOutcome['rss'] = {};
  for (const [name, pid] of Object.entries(processes))
    rss[name] = { beforeMb: rssOf(pid) / 2 ** 20, peakMb: 0 };

  const holdStartsAt = Date.now() + rampMs + 5000;
  const untilMs = holdStartsAt + soakSeconds * 1000;
  const statuses: ClientsStatus[] = [];
  const results: ClientsResult[] = [];
  const clientPidOf: (number | undefined)[] = [];
  const children = Array.from({ length: soakProcesses }, (_, i) => {
    const child = fork(join(import.meta.dirname, 'waiting-clients.ts'), [], { stdio: 'inherit' });
    clientPidOf[i] = child.pid;
    const input: ClientsInput = {
      gateway,
      showId,
      // Round robin, so admissions (in arrival order) fall evenly on the processes.
      tokens: tokens.slice(0, soakUsers).filter((_, j) => j % soakProcesses === i),
      reserve: tokens.slice(soakUsers).filter((_, j) => j % soakProcesses === i),
      openPerSecond: openPerSecond / soakProcesses,
      untilMs,
      sampleEvery: 10,
      redisUrl,
      admissionLogKey: `rx:queue:{${showId}}:log`,
    };
    child.on('message', (message: ClientsStatus | ClientsResult) => {
      if (message.kind === 'status') statuses[i] = message;
      else results[i] = message;
    });
    child.send(input);
    return new Promise<void>((resolve) => child.once('exit', () => resolve()));
  });
  const clientRss: number[] = [];
  const cpuProcesses: Record<string, number | undefined> = {
    ...processes,
    ...Object.fromEntries(clientPidOf.map((pid, i) => [`client process ${i + 1}`, pid])),
  };
  let cpuAtHold: { at: number; ms: Record<string, number> } | undefined;
  let cpuAtEnd: { at: number; ms: Record<string, number> } | undefined;
  const cpuNow = () => ({
    at: Date.now(),
    ms: Object.fromEntries(Object.entries(cpuProcesses).map(([name, pid]) => [name, cpuMsOf(pid)])),
  });
  let heldMin = Number.POSITIVE_INFINITY;
  let heldMax = 0;
  let heldAtStartOfHold = 0;
  let openingMax = 0;
  let sampled = 0;
  const sampler = setInterval(() => {
    const held = statuses.reduce((sum, s) => sum + (s?.held ?? 0), 0);
    const opening = statuses.reduce((sum, s) => sum + (s?.opening ?? 0), 0);
    heldMax = Math.max(heldMax, held);
    openingMax = Math.max(openingMax, opening);
    if (++sampled % 15 === 0) {
      const admitted = statuses.reduce((sum, s) => sum + (s?.admitted ?? 0), 0);
      process.stderr.write(`soak: ${held} streams held, ${opening} opening, ${admitted} admitted\n`);
    }
    if (Date.now() >= holdStartsAt && Date.now() < untilMs) {
      if (heldAtStartOfHold === 0) heldAtStartOfHold = held;
      heldMin = Math.min(heldMin, held);
      cpuAtHold ??= cpuNow();
      cpuAtEnd = cpuNow();
    }
    for (const [name, pid] of Object.entries(processes))
      rss[name]!.peakMb = Math.max(rss[name]!.peakMb, rssOf(pid) / 2 ** 20);
    statuses.forEach((s, i) => {
      clientRss[i] = Math.max(clientRss[i] ?? 0, s?.rssBytes ?? 0);
    });
  }, 1000);
  await Promise.all(children);
  clearInterval(sampler);
  const redis = new Redis(redisUrl);
  const log = await redis.lrange(`rx:queue:{${showId}}:log`, 0, -1);
  await redis.quit();
  const inHold = log
    .map((line) => Number(line.split('|')[3]))
    .filter((at) => at >= holdStartsAt && at <= untilMs);
  const lags = results.flatMap((r) => r?.lags ?? []).sort((a, b) => a - b);
  const finals = results.map((r) => r?.status).filter((s): s is ClientsStatus => s !== undefined);
  clientRss.forEach((bytes, i) => {
    rss[`client process ${i + 1}`] = { beforeMb: 0, peakMb: bytes / 2 ** 20 };
  });
  const gatewayRss = rss.gateway!;
  return {
    users: soakUsers,
    reserve: reserveCount,
    processes: soakProcesses,
    seconds: soakSeconds,
    heldAtStartOfHold,
    heldMin: Number.isFinite(heldMin) ? heldMin : 0,
    heldMax,
    opened: finals.reduce((sum, s) => sum + s.opened, 0),
    admitted: finals.reduce((sum, s) => sum + s.admitted, 0),
    dropped: finals.reduce((sum, s) => sum + s.dropped, 0),
    refused: finals.reduce((sum, s) => sum + s.refused, 0),
    failed: finals.reduce<Record<string, number>>((all, s) => {
      for (const [code, n] of Object.entries(s.failed)) all[code] = (all[code] ?? 0) + n;
      return all;
    }, {}),
    openingMax,
    admissionsPerSecond: inHold.length / soakSeconds,
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: lags.at(-1) ?? Number.NaN,
    lagSamples: lags.length,
    rss,
    cpu: Object.fromEntries(
      Object.keys(cpuProcesses).map((name) => [
        name,
        cpuAtHold && cpuAtEnd && cpuAtEnd.at > cpuAtHold.at
          ? ((cpuAtEnd.ms[name]! - cpuAtHold.ms[name]!) / (cpuAtEnd.at - cpuAtHold.at)) * 100
          : Number.NaN,
      ]),
    ),
    perUserKb: heldMax > 0 ? ((gatewayRss.peakMb - gatewayRss.beforeMb) * 1024) / heldMax : Number.NaN,
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  } satisfies SoakOutcome;
}

function total(cpu: Record<string, number>): number {
  return Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
}

function render(rows: Row[], startedAt: Date, soak: SoakOutcome | undefined): string {
  const baseline = rows[0]!.result.requests.average;
  const ceiling = rows[1]!.result.requests.average;
  const lines = [
    '# Waiting-room benchmark',
    '',
    `Run ${startedAt.toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}; loopback only;`,
    `${connections} connections, ${duration} s per scenario. Command: \`npm run bench:queue -- --duration ${duration} --connections ${connections} --users ${userCount}\`.`,
    '',
    'A join goes client → gateway (token verification, rate limits) → gateway sidecar → queue sidecar → queue',
    '(Redis Lua). A position poll through the gateway is answered by the gateway itself once it knows the',
    "user's arrival number (from the queue's answer to their join or a poll) and follows the show's progress",
    '(one upstream per show): a poll whose user the progress has reached, and one whose number was learnt',
    'more than 30 s ago, go on to the queue. The users polled are the back half of the room, which the admitter',
    'does not reach during the scenario (waiting users poll; an admitted one has their pass), each polled',
    'once before the measure. The baseline is a bare hono app answering JSON with no middleware; the',
    'ceiling is a no-op hono gateway forwarding through two sidecars (same daprd flags, mTLS and API tokens',
    'as the services; no access-control list) to that bare app. The two middle rows take the position call',
    'one hop at a time, as the gateway forwards it when it must. Every user has joined before positions are',
    'polled, so every answer should be a 200. Every service runs with tracing on, exporting to Jaeger, as it',
    'does in the stack.',
    '',
    `Load average when the report was written: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (the machine's 2 cores are shared).`,
    '',
    '| scenario | req/s | ratio to baseline | ratio to ceiling | latency p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { scenario, result } of rows) {
    const r = result;
    lines.push(
      `| ${scenario} | ${round(r.requests.average)} | ${(r.requests.average / baseline).toFixed(3)} | ${(r.requests.average / ceiling).toFixed(3)} | ${round(r.latency.p50)} | ${round(r.latency.p90)} | ${round(r.latency.p99)} | ${round(r.latency.max)} | ${r.non2xx} | ${r.errors + r.timeouts} |`,
    );
  }
  const columns = ['app', 'app sidecar', 'upstream sidecar', 'upstream', 'redis'];
  const ceilingCpu = total(rows[1]!.cpu);
  lines.push(
    '',
    'CPU per answered request, in milliseconds, per process on the path (user + system time from /proc',
    'over the scenario; "app" is the gateway or the no-op gateway, "upstream" the queue or the no-op app). On',
    'a machine whose cores are all busy, throughput is about cores ÷ CPU per request, so the last column',
    'predicts the ratio to the ceiling without depending on what else the machine runs.',
    '',
    `| scenario | ${columns.join(' | ')} | total | ceiling total ÷ total |`,
    `|---|${columns.map(() => '---:').join('|')}|---:|---:|`,
  );
  for (const { scenario, cpu } of rows) {
    const cells = columns.map((name) => (name in cpu && cpu[name]! > 0 ? cpu[name]!.toFixed(3) : '–'));
    lines.push(
      `| ${scenario} | ${cells.join(' | ')} | ${total(cpu).toFixed(3)} | ${(ceilingCpu / total(cpu)).toFixed(3)} |`,
    );
  }
  for (const { scenario, result, forwarded } of rows) {
    if (forwarded === undefined) continue;
    const answered = result['2xx'] + result.non2xx;
    lines.push(
      '',
      Number.isNaN(forwarded)
        ? `${scenario}: the queue's sidecar did not report the calls it passed on.`
        : `${scenario}: ${forwarded} of ${answered} polls reached the queue (${((100 * forwarded) / Math.max(1, answered)).toFixed(1)} %, counted by its sidecar), the rest were answered by the gateway.`,
    );
  }
  lines.push('', 'Status codes per scenario:', '');
  for (const { scenario, result } of rows) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .map(([code, stat]) => `${code}: ${stat.count}`)
      .join(', ');
    lines.push(`- ${scenario}: ${codes || 'none'}`);
  }
  if (soak) {
    lines.push(
      '',
      '## Soak: waiting streams at the gateway',
      '',
      `${soak.users} users of one show joined through the gateway (50 at a time), ${soak.reserve} more behind them, then the first ${soak.users} opened waiting`,
      `streams at the gateway (400 a second, over ${soak.processes} client processes) and held them for ${soak.seconds} s after the ramp while`,
      `the admitter let ${ADMISSION_RATE} a second in. Each admitted user's stream ends with their pass, and the next user`,
      'behind opens one in its place, so the streams held stay at the number of users while the room moves.',
      "Lag: from the admission step (its time in the queue's admission log) to a sampled user (every 10th) seeing the",
      'position it changed. Dropped: a stream that ended before its user was admitted (the client reconnects).',
      '',
      '| measure | value |',
      '|---|---:|',
      `| streams held when the hold began | ${soak.heldAtStartOfHold} |`,
      `| streams held, least during the hold / most | ${soak.heldMin} / ${soak.heldMax} |`,
      `| streams opened (with reconnects) / refused opens | ${soak.opened} / ${soak.refused} |`,
      `| opens failed before an answer, by error | ${
        Object.entries(soak.failed)
          .map(([code, n]) => `${code}: ${n}`)
          .join(', ') || '0'
      } |`,
      `| most opens waiting for their answer at once | ${soak.openingMax} |`,
      `| users admitted on their stream | ${soak.admitted} |`,
      `| dropped streams | ${soak.dropped} |`,
      `| admissions per second during the hold | ${soak.admissionsPerSecond.toFixed(2)} |`,
      `| position-update lag p50 / p99 / max ms (${soak.lagSamples} samples) | ${round(soak.lagP50)} / ${round(soak.lagP99)} / ${round(soak.lagMax)} |`,
      `| gateway memory per waiting stream (peak growth / most held) | ${soak.perUserKb.toFixed(1)} KiB |`,
      `| load average at the end | ${soak.load} |`,
      '',
      'CPU: what each process used during the hold, in percent of one core (the machine has two).',
      '',
      '| process | RSS before MiB | peak MiB | CPU during the hold % |',
      '|---|---:|---:|---:|',
      ...Object.entries(soak.rss).map(
        ([name, m]) =>
          `| ${name} | ${m.beforeMb ? m.beforeMb.toFixed(0) : '–'} | ${m.peakMb.toFixed(0)} | ${round(soak.cpu[name] ?? Number.NaN)} |`,
      ),
    );
  }
  lines.push('');
  return lines.join('\n');
}

await main();

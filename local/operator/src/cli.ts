#!/usr/bin/env node
// reservex: `provision` (fill the cache), `up` (npm start: the whole system on this machine),
// `down` (stop whatever a previous `up` or test run left running).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppId } from '@reservex/contracts';
import {
  cardSandbox,
  cardSandboxApp,
  elapsed,
  freePort,
  isAlive,
  launchInfra,
  paymentProviderEnv,
  presentServices,
  provision,
  type Run,
  reapStaleRuns,
  runsDir,
  type Supervised,
  sandboxAddress,
  say,
  serviceApp,
  signalGroup,
  startApps,
} from '@reservex/local';
import { adminEmails, DEMO_ADMIN, seedDemoShow, signInDemoAdmin } from './demo.ts';
import { tailLogs } from './log-tail.ts';
import { printTrace } from './trace.ts';
import { walkthrough } from './walkthrough.ts';

const USAGE = `usage: node local/operator/src/cli.ts <command>
  provision   put daprd, Kafka, Jaeger, Postgres and Redis in place (cache: $RESERVEX_CACHE or ~/.cache/reservex)
  up          start the whole system on this machine; Ctrl-C stops everything
              (--verbose: follow every log line, not only warnings, errors and saga milestones)
  walkthrough print the running system's copy-paste booking again
  trace <id>  print a trace (by reservation id or trace id) of the running system as a waterfall
  down        stop whatever a previous run left behind`;

/** Run directories of `npm start` are named up-…, those of test runs stack-…. */
const UP_LABEL = 'up';
/** Where `up` keeps its walkthrough in the run directory, for `walkthrough` to print again. */
const WALKTHROUGH_FILE = 'walkthrough.txt';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function provisionCommand(): Promise<void> {
  // Exiting (rather than dying of the signal) lets the running builds be killed with us.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const started = performance.now();
  const toolchain = await provision();
  for (const [tool, path] of Object.entries(toolchain)) print(`${tool.padEnd(12)} ${path}`);
  say(`provisioning checked in ${elapsed(started)}`);
}

/**
 * What `npm start` adds to a service's environment (payment's, pointing it at the card sandbox, comes
 * with the sandbox): the account service makes the demo administrator ADMIN.
 */
function envOf(appId: AppId): Record<string, string> {
  if (appId === 'account') return { ADMIN_EMAILS: adminEmails(process.env.ADMIN_EMAILS) };
  return {};
}

async function up(verbose: boolean): Promise<void> {
  const started = performance.now();
  const runs: Run[] = [];
  const appStops: (() => Promise<void>)[] = [];
  let stopping = false;
  let tail: { stop(): void } | undefined;

  const shutdown = async (signal: string) => {
    if (stopping) {
      say(`${signal} again: killing everything now`);
      for (const run of runs) for (const child of run.live()) signalGroup(child.pid, 'SIGKILL');
      process.exit(130);
    }
    stopping = true;
    tail?.stop();
    say(`${signal}: stopping everything (${signal} again kills at once)`);
    const report = (error: unknown) => say(`stop failed: ${error}`);
    // Every service at once, then the infrastructure they were using.
    await Promise.all(appStops.map((stop) => stop().catch(report)));
    for (const run of runs) await run.stop().catch(report);
    say('stopped; nothing left running');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const loud = (child: Supervised) => {
    if (stopping) return;
    const line = `!!! ${child.name} exited unexpectedly; its log: ${child.logFile}`;
    const bar = '!'.repeat(Math.min(line.length, 110));
    process.stderr.write(`\n${bar}\n${line}\n${bar}\n\n`);
  };

  // Where the time to ready goes, printed once everything is up: each phase from and to, in seconds
  // since the start (phases overlap: the apps load while Kafka starts).
  const timeline: { name: string; from: number; to: number; detail?: string }[] = [];
  const since = (at: number) => `${((at - started) / 1000).toFixed(1)}s`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

  await provision();
  timeline.push({ name: 'provisioning check', from: started, to: performance.now() });
  const launched = performance.now();
  const launch = launchInfra({ label: UP_LABEL });
  const { info, run } = await launch.forApps;
  runs.push(run);
  run.onUnexpectedExit(loud);
  const appsFrom = performance.now();
  // The apps start now; their databases are created once Postgres serves, their sidecars start once
  // everything does (Kafka last).
  const infraUp = launch.ready.then(() => {
    const { postgres, redis, jaeger, sentry, kafka } = launch.timings;
    timeline.push({
      name: 'Postgres, Redis, Jaeger, sentry',
      from: launched,
      to: launched + Math.max(postgres ?? 0, redis ?? 0, jaeger ?? 0, sentry ?? 0),
      detail: `Postgres ${seconds(postgres ?? 0)}, Redis ${seconds(redis ?? 0)}, Jaeger ${seconds(jaeger ?? 0)}, sentry ${seconds(sentry ?? 0)} (the apps start once sentry serves)`,
    });
    timeline.push({
      name: 'Kafka',
      from: launched,
      to: launched + (kafka ?? 0),
      detail: 'the sidecars start once it serves',
    });
  });
  // Awaited by every sidecar, and below: a failure is reported there.
  infraUp.catch(() => {});
  if (stopping) return;

  // The card provider beside the services, on a port chosen now: payment is configured with its
  // address and need not wait for it. Each service starts on its own: one that fails to start is
  // reported, the others keep running.
  const appTimes: [string, number][] = [];
  const sandboxSpec = cardSandboxApp({ port: await freePort() });
  const provider = startApps({
    infra: info,
    apps: [sandboxSpec],
    onUnexpectedExit: loud,
    databasesAfter: launch.postgres,
  }).then((started) => {
    appTimes.push([cardSandbox.appId, performance.now() - appsFrom]);
    runs.push(started.run);
    appStops.push(started.stop);
    return started.apps[cardSandbox.appId];
  });
  // Awaited below, after the services: a failure is reported there.
  provider.catch(() => {});
  const services = presentServices();
  const starts = services.map(async (definition) => {
    const env =
      definition.appId === 'payment'
        ? paymentProviderEnv(sandboxAddress(sandboxSpec))
        : envOf(definition.appId);
    const started = await startApps({
      infra: info,
      apps: [serviceApp(definition, env)],
      onUnexpectedExit: loud,
      databasesAfter: launch.postgres,
      sidecarsAfter: infraUp,
    });
    appTimes.push([definition.appId, performance.now() - appsFrom]);
    runs.push(started.run);
    appStops.push(started.stop);
    return started.apps[definition.appId];
  });
  // The demo administrator and show need the gateway, account and inventory only: they are set up
  // while the other services are still starting.
  const startOf = (id: AppId) => starts[services.findIndex((s) => s.appId === id)];
  const demo = (async () => {
    const needed = [startOf('gateway'), startOf('account'), startOf('inventory')];
    if (needed.some((start) => start === undefined)) return undefined;
    const [gateway] = await Promise.all(needed);
    if (!gateway) return undefined;
    const from = performance.now();
    const accessToken = await signInDemoAdmin(gateway.url);
    const show = await seedDemoShow({ gatewayUrl: gateway.url, accessToken });
    timeline.push({ name: 'demo administrator and show', from, to: performance.now() });
    return walkthrough({ gatewayUrl: gateway.url, jaegerUiUrl: info.jaeger.uiUrl, show }).join('\n');
  })();
  // Awaited below; a service that did not start is reported with the others.
  demo.catch(() => {});
  const results = await Promise.allSettled(starts);
  // Kafka failing stops the infrastructure: nothing could run.
  await launch.ready;
  const sandbox = await provider;
  timeline.push({
    name: 'services with their sidecars',
    from: appsFrom,
    to: performance.now(),
    detail: appTimes
      .sort(([, a], [, b]) => a - b)
      .map(([id, ms]) => `${id} ${seconds(ms)}`)
      .join(', '),
  });

  const width = 14;
  const row = (name: string, value: string) => print(`  ${name.padEnd(width)} ${value}`);
  print();
  print(`ReserveX is running on this machine (up in ${elapsed(started)})`);
  print();
  for (const [index, result] of results.entries()) {
    const id = services[index]?.appId ?? '?';
    if (result.status === 'fulfilled') row(id, `${result.value.url}   (sidecar ${result.value.daprUrl})`);
    else row(id, `FAILED TO START: ${String(result.reason).split('\n')[0]}`);
  }
  if (services.length === 0) print('  (no service has a src/main.ts yet: infrastructure only)');
  row(cardSandbox.appId, `${sandbox.url}   (card provider's test mode; no sidecar)`);
  print();
  row(
    'Traces',
    `${info.jaeger.uiUrl}   (a trace page over Jaeger's API; npm run trace -- <id> in the terminal)`,
  );
  row('Postgres', info.postgres.url);
  row('Redis', info.redis.url);
  row('Kafka', info.kafka.brokers);
  row('OTLP/HTTP', info.jaeger.otlpHttpUrl);
  print();
  const [demoResult] = await Promise.allSettled([demo]);
  const neededUp = ['gateway', 'account', 'inventory'].every(
    (id) => results[services.findIndex((s) => s.appId === id)]?.status === 'fulfilled',
  );
  if (neededUp && demoResult?.status === 'fulfilled' && demoResult.value) {
    row('Admin', `${DEMO_ADMIN.email} / ${DEMO_ADMIN.password}   (ADMIN_EMAILS adds yours)`);
    print();
    writeFileSync(join(info.runDir, WALKTHROUGH_FILE), `${demoResult.value}\n`);
    print(demoResult.value);
    print();
    print('Print this again: npm run walkthrough');
    print();
  } else if (neededUp && demoResult?.status === 'rejected') {
    say(`setting up the demo admin and show failed: ${demoResult.reason}`);
    print();
  }
  print(`Time to ready: ${elapsed(started)}, by phase (from → to, since the start; they overlap):`);
  for (const phase of timeline.sort((a, b) => a.from - b.from || a.to - b.to)) {
    const span = `${since(phase.from)} → ${since(phase.to)}`.padEnd(15);
    print(`  ${phase.name.padEnd(32)} ${span}${phase.detail ? ` ${phase.detail}` : ''}`.trimEnd());
  }
  print(`Logs: ${info.runDir} (one file per process), followed below. Ctrl-C stops everything.`);
  print(
    verbose
      ? 'Every log line is shown.'
      : 'Shown: warnings, errors and saga milestones (npm start -- --verbose shows every line).',
  );
  print();
  tail = tailLogs(() => runs.map((run) => run.logsDir), print, { verbose });
}

/** Live `npm start` runs (their owner still running), newest first. */
function liveUpRuns(): { dir: string; owner: number }[] {
  const root = runsDir();
  return readdirSyncSafe(root)
    .filter((name) => name.startsWith(`${UP_LABEL}-`))
    .sort()
    .reverse()
    .map((name) => ({ dir: join(root, name), owner: Number(readFileSafe(join(root, name, 'owner'))) }))
    .filter(({ owner }) => Number.isInteger(owner) && owner > 0 && isAlive(owner));
}

/** The Jaeger of the running `npm start` (or RESERVEX_JAEGER_URL). */
function runningJaegerUrl(): string | undefined {
  if (process.env.RESERVEX_JAEGER_URL) return process.env.RESERVEX_JAEGER_URL.replace(/\/+$/, '');
  for (const { dir } of liveUpRuns()) {
    const infra = readFileSafe(join(dir, 'infra.json'));
    if (infra) return (JSON.parse(infra) as { jaeger: { uiUrl: string } }).jaeger.uiUrl;
  }
  return undefined;
}

async function traceCommand(id: string | undefined): Promise<void> {
  if (!id) {
    console.error('usage: npm run trace -- <reservation id | trace id>');
    process.exit(2);
  }
  const jaegerUrl = runningJaegerUrl();
  if (!jaegerUrl) {
    console.error('No running npm start here (or set RESERVEX_JAEGER_URL): start one with `npm start`.');
    process.exit(1);
  }
  if (!(await printTrace(jaegerUrl, id, print))) {
    console.error(`No trace for ${id} in ${jaegerUrl} (yet: spans arrive within a second or two).`);
    process.exit(1);
  }
}

/** The walkthrough of the running `npm start`, printed again. */
function printWalkthrough(): void {
  const text = liveUpRuns()
    .map(({ dir }) => readFileSafe(join(dir, WALKTHROUGH_FILE)))
    .find((t) => t !== '');
  if (!text) {
    console.error('No running npm start with a walkthrough here: start one with `npm start`.');
    process.exit(1);
  }
  print(text);
}

/**
 * Stops what `npm start` runs on this machine (its owner is asked to stop, then leftovers are
 * killed) and reaps any run whose owner died. Test runs in progress are left alone.
 */
async function down(): Promise<void> {
  for (const { owner } of liveUpRuns()) {
    if (owner === process.pid) continue;
    say(`asking npm start (pid ${owner}) to stop`);
    process.kill(owner, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isAlive(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }
  reapStaleRuns();
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

const command = process.argv[2];
try {
  switch (command) {
    case 'provision':
      await provisionCommand();
      break;
    case 'up':
      await up(process.argv.includes('--verbose'));
      break;
    case 'walkthrough':
      printWalkthrough();
      break;
    case 'trace':
      await traceCommand(process.argv[3]);
      break;
    case 'down':
      await down();
      break;
    default:
      console.error(USAGE);
      process.exit(command ? 2 : 0);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}

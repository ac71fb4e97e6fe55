#!/usr/bin/env node
// reservex-local: `provision` (fill the cache), `up` (npm start: the whole system on this machine),
// `down` (stop whatever a previous `up` or test run left running).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startApps } from './apps.ts';
import { startInfra } from './infra/index.ts';
import { tailLogs } from './log-tail.ts';
import { repoRoot, runsDir } from './paths.ts';
import { elapsed, say } from './progress.ts';
import { provision } from './provision/index.ts';
import { isAlive, type Run, reapStaleRuns } from './run.ts';
import { cardSandbox, cardSandboxApp, paymentProviderEnv, presentServices, serviceApp } from './services.ts';
import { type Supervised, signalGroup } from './supervisor.ts';
import { type WalkthroughShow, walkthrough } from './walkthrough.ts';

const USAGE = `usage: node local/src/cli.ts <command>
  provision   put daprd, Kafka, Jaeger, Postgres and Redis in place (cache: $RESERVEX_CACHE or ~/.cache/reservex)
  up          start the whole system on this machine; Ctrl-C stops everything
  down        stop whatever a previous run left behind`;

/** Run directories of `npm start` are named up-…, those of test runs stack-…. */
const UP_LABEL = 'up';

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

async function up(): Promise<void> {
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

  await provision();
  const infra = await startInfra({ label: UP_LABEL });
  runs.push(infra.run);
  infra.run.onUnexpectedExit(loud);
  const info = infra.info;
  if (stopping) return;

  // The card provider first (payment is configured with its address), then each service on its own:
  // one that fails to start is reported, the others keep running.
  const provider = await startApps({ infra: info, apps: [cardSandboxApp()], onUnexpectedExit: loud });
  runs.push(provider.run);
  appStops.push(provider.stop);
  const sandbox = provider.apps[cardSandbox.appId];
  const services = presentServices();
  const results = await Promise.allSettled(
    services.map(async (definition) => {
      const started = await startApps({
        infra: info,
        apps: [serviceApp(definition, definition.appId === 'payment' ? paymentProviderEnv(sandbox) : {})],
        onUnexpectedExit: loud,
      });
      runs.push(started.run);
      appStops.push(started.stop);
      return started.apps[definition.appId];
    }),
  );

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
  row('Jaeger UI', info.jaeger.uiUrl);
  row('Postgres', info.postgres.url);
  row('Redis', info.redis.url);
  row('Kafka', info.kafka.brokers);
  row('OTLP/HTTP', info.jaeger.otlpHttpUrl);
  print();
  const inventory = results[services.findIndex((s) => s.appId === 'inventory')];
  const gateway = results[services.findIndex((s) => s.appId === 'gateway')];
  if (inventory?.status === 'fulfilled' && gateway?.status === 'fulfilled') {
    try {
      // Loaded by path, like the services themselves: a package dependency on inventory would make
      // a cycle (inventory's tests depend on this package).
      const seed = pathToFileURL(join(repoRoot, 'services', 'inventory', 'src', 'seed.ts')).href;
      const { seedDemoShow } = (await import(seed)) as {
        seedDemoShow(options: { inventoryUrl: string }): Promise<WalkthroughShow>;
      };
      const show = await seedDemoShow({ inventoryUrl: inventory.value.url });
      for (const line of walkthrough({
        gatewayUrl: gateway.value.url,
        jaegerUiUrl: info.jaeger.uiUrl,
        show,
      })) {
        print(line);
      }
    } catch (error) {
      say(`seeding the demo show failed: ${error}`);
    }
    print();
  }
  print(`Logs: ${info.runDir} (one file per process), followed below. Ctrl-C stops everything.`);
  print();
  tail = tailLogs(() => runs.map((run) => run.logsDir), print);
}

/**
 * Stops what `npm start` runs on this machine (its owner is asked to stop, then leftovers are
 * killed) and reaps any run whose owner died. Test runs in progress are left alone.
 */
async function down(): Promise<void> {
  const root = runsDir();
  for (const name of readdirSyncSafe(root).filter((n) => n.startsWith(`${UP_LABEL}-`))) {
    const dir = join(root, name);
    const owner = Number(readFileSafe(join(dir, 'owner')));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      say(`asking npm start (pid ${owner}) to stop`);
      process.kill(owner, 'SIGTERM');
      const deadline = Date.now() + 60_000;
      while (isAlive(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    }
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
      await up();
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

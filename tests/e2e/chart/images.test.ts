// The service images, without a Docker engine: each service is pruned and installed the way its
// Dockerfile does it (turbo prune --docker, production dependencies only), then started with the
// Dockerfile's CMD from that tree, with its sidecar and the settings the chart gives it, and must answer
// /healthz. Covers every service that has an entry point.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type AppId, appIds } from '@reservex/contracts';
import { type StartedApps, startApps } from '@reservex/local';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  PROVISION_TIMEOUT_MS,
  podSpecOf,
  provisionTools,
  render,
  repoRoot,
  runAsync,
  scratchDir,
} from './tools.ts';

interface Dockerfile {
  pruneTarget: string;
  installArgs: string[];
  cmd: string[];
}

/** The steps of a service's Dockerfile this test replays. */
function readDockerfile(appId: AppId): Dockerfile {
  const text = readFileSync(join(repoRoot, 'services', appId, 'Dockerfile'), 'utf8');
  const prune = /^RUN turbo prune (\S+) --docker --out-dir \S+$/m.exec(text);
  const install = /^RUN npm install (.+?) && npm cache clean --force$/m.exec(text);
  const runtime = text.split(/^FROM /m).at(-1) ?? '';
  const cmd = /^CMD (\[.+\])$/m.exec(runtime);
  if (!prune?.[1] || !install?.[1] || !cmd?.[1])
    throw new Error(`services/${appId}/Dockerfile: unexpected shape`);
  return { pruneTarget: prune[1], installArgs: install[1].split(/\s+/), cmd: JSON.parse(cmd[1]) as string[] };
}

/** Development tools that must not reach an image. */
const devTooling = ['typescript', 'vitest', '@biomejs/biome', 'turbo', 'drizzle-kit', 'fast-check', 'tsx'];

const present = appIds.filter((id) => existsSync(join(repoRoot, 'services', id, 'src/main.ts')));

interface ChartContainer {
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } } }[];
}

/** The chart's settings for a service (default values): plain values, and generated secrets. */
function chartEnv(appId: AppId): { env: Record<string, string>; database: boolean; redis: boolean } {
  const deployment = render('default').find(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/name'] === appId,
  );
  if (!deployment) throw new Error(`the chart renders no Deployment for ${appId}`);
  const containers = podSpecOf(deployment)?.containers as ChartContainer[] | undefined;
  const container = containers?.[0];
  // Addresses and ports are the local stack's (it gives each app its own).
  const local = new Set([
    'SERVICE_NAME',
    'PORT',
    'HOST',
    'DAPR_HTTP_PORT',
    'DAPR_GRPC_PORT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'DATABASE_URL',
    'DATABASE_PASSWORD',
    'REDIS_URL',
    'REDIS_PASSWORD',
  ]);
  const env: Record<string, string> = {};
  const names = new Set<string>();
  for (const e of container?.env ?? []) {
    names.add(e.name);
    if (local.has(e.name)) continue;
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && !ref.optional) env[e.name] = generatedSecret(ref.key);
  }
  return { env, database: names.has('DATABASE_URL'), redis: names.has('REDIS_URL') };
}

/** What the chart's Secret holds for a key: 32 random alphanumerics (randAlphaNum 32). */
function generatedSecret(key: string): string {
  if (key === 'jwt-signing-keys') {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return JSON.stringify([privateKey.export({ format: 'jwk' })]);
  }
  return randomBytes(48)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 32);
}

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules') return [];
    if (statSync(path).isDirectory()) return filesUnder(path, suffix);
    return path.endsWith(suffix) ? [path] : [];
  });
}

let running: StartedApps<AppId> | undefined;
let work: string | undefined;

beforeAll(provisionTools, PROVISION_TIMEOUT_MS);
afterEach(async () => {
  await running?.stop();
  running = undefined;
  // A pruned install is tens of megabytes per service: leave none behind.
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
});

describe('service images, run the way their Dockerfiles run them', () => {
  it('exist for every service, each pruning to its own package', () => {
    for (const appId of appIds) expect(readDockerfile(appId).pruneTarget).toBe(`@reservex/${appId}`);
  });

  for (const appId of present) {
    it(`${appId}: pruned production install, started with the image's CMD, answers /healthz`, async () => {
      const dockerfile = readDockerfile(appId);
      work = scratchDir(`image-${appId}`);
      rmSync(work, { recursive: true, force: true });
      const pruned = join(work, 'pruned');
      const app = join(work, 'app');
      const exec = async (command: string, args: string[], cwd: string) => {
        const result = await runAsync(command, args, { cwd, timeoutMs: 300_000 });
        if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
      };

      // prune stage
      await exec(
        join(repoRoot, 'node_modules/.bin/turbo'),
        ['prune', dockerfile.pruneTarget, '--docker', '--out-dir', pruned],
        repoRoot,
      );
      // install stage: manifests, production install, then the sources, minus tests
      cpSync(join(pruned, 'json'), app, { recursive: true });
      await exec('npm', ['install', ...dockerfile.installArgs, '--prefer-offline', '--loglevel=error'], app);
      cpSync(join(pruned, 'full'), app, { recursive: true });
      for (const test of filesUnder(join(app, 'services'), '.test.ts')) rmSync(test);

      const workspaces = readdirSync(join(app, 'services')).sort();
      expect(workspaces).toContain(appId);
      expect(workspaces.length, 'only the packages the service needs').toBeLessThan(appIds.length + 2);
      for (const tool of devTooling) expect(existsSync(join(app, 'node_modules', tool)), tool).toBe(false);

      const settings = chartEnv(appId);
      const [command, ...args] = dockerfile.cmd;
      expect(command).toBe('node');
      running = await startApps({
        infra: inject('infra'),
        apps: [
          {
            appId,
            args,
            cwd: app,
            env: settings.env,
            ...(settings.database ? { database: `chart_image_${appId}` } : {}),
            redis: settings.redis,
            readyTimeoutMs: 120_000,
          },
        ],
      });
      const handle = running.apps[appId];
      const health = await fetch(`${handle.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      expect(health.status).toBe(200);
    }, 400_000);
  }
});

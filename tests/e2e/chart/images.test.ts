// The service images, without a Docker engine: each service is pruned and installed the way
// services/Dockerfile does it (turbo prune --docker, production dependencies only), and everything an
// image is asked to run is run from that tree, with the image's environment and the settings the chart
// gives it:
// - the chart's migration Job of the service (then the migrations are applied);
// - the image's CMD, with its sidecar, which must answer /healthz;
// - query's operator commands: the dead-letter replay an operator runs in the pod, and the chart's
//   read-model rebuild Job, which must empty the read model, replay Kafka and end by itself.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { appIds, DEAD_LETTER_TOPIC, type EventOf, SCHEMA_VERSION, type Topic } from '@reservex/contracts';
import { type AppHandle, ensureDatabase, type StartedApps, startApps } from '@reservex/local';
import postgres from 'postgres';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { argsOf, cmdOf, envOf, readDockerfile, stageOf } from './dockerfile.ts';
import {
  type K8sObject,
  PROVISION_TIMEOUT_MS,
  parseObjects,
  podSpecOf,
  provisionTools,
  render,
  renderYaml,
  repoRoot,
  scratchDir,
  valuesFiles,
} from './tools.ts';

const execFileAsync = promisify(execFile);
const infra = inject('infra');
let started: StartedApps<string>[] = [];
let work: string | undefined;

/** Substitutes the Dockerfile's ${NAME} references. */
function expand(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`services/Dockerfile: \${${name}} has no value here`);
    return value;
  });
}

interface ImageSteps {
  pruneTarget: string;
  installArgs: string[];
  /** The runtime stage's ENV. */
  env: Record<string, string>;
  /** The runtime stage's CMD. */
  cmd: string[];
}

/** The steps of services/Dockerfile this test replays, for one service (--build-arg SERVICE). */
function imageSteps(appId: string): ImageSteps {
  const dockerfile = readDockerfile();
  const build = { SERVICE: appId };
  const matchIn = (stage: string, pattern: RegExp) =>
    argsOf(stageOf(dockerfile, stage), 'RUN')
      .map((run) => pattern.exec(run)?.[1])
      .find((found) => found !== undefined);
  const prune = matchIn('prune', /^turbo prune "?([^"\s]+)"? --docker --out-dir \S+$/);
  const install = matchIn('install', /^npm install (.+?) && npm cache clean --force$/);
  if (!prune || !install) throw new Error('services/Dockerfile: unexpected shape');
  const runtime = dockerfile.stages.at(-1)!;
  const env = Object.fromEntries(Object.entries(envOf(runtime)).map(([k, v]) => [k, expand(v, build)]));
  return { pruneTarget: expand(prune, build), installArgs: install.split(/\s+/), env, cmd: cmdOf(runtime) };
}

/** Development tools that must not reach an image. */
const devTooling = ['typescript', 'vitest', '@biomejs/biome', 'turbo', 'drizzle-kit', 'fast-check', 'tsx'];

/** The service whose image a workload runs (`<registry>/reservex-<service>:<tag>`). */
const serviceOfImage = (workload: K8sObject) =>
  /\/reservex-([a-z-]+):[^/]+$/.exec(
    (podSpecOf(workload)?.containers as { image: string }[] | undefined)?.[0]?.image ?? '',
  )?.[1];

interface ChartContainer {
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } };
  }[];
}

/** The first container of a rendered workload. */
function containerOf(workload: K8sObject): ChartContainer {
  const container = (podSpecOf(workload)?.containers as ChartContainer[] | undefined)?.[0];
  if (!container) throw new Error(`${workload.kind} ${workload.metadata.name} has no container`);
  return container;
}

const labelled = (appId: string, component: string) => (o: K8sObject) =>
  o.metadata.labels?.['app.kubernetes.io/name'] === appId &&
  o.metadata.labels?.['app.kubernetes.io/component'] === component;

/** What a container runs from the image: `command` replaces the image's CMD, `args` its arguments. */
function argvOf(container: ChartContainer, imageCmd: string[]): string[] {
  if (container.command) return [...container.command, ...(container.args ?? [])];
  return container.args ?? imageCmd;
}

/** Keys the default render's Secrets hold: an optional reference to one of them is set in the pod. */
function renderedSecretKeys(): Set<string> {
  return new Set(
    render('default')
      .filter((o) => o.kind === 'Secret')
      .flatMap((o) => Object.keys((o as { data?: Record<string, string> }).data ?? {})),
  );
}

/** A container's settings (default values): plain values, and generated secrets. */
function chartSettings(container: ChartContainer): {
  env: Record<string, string>;
  database: boolean;
  redis: boolean;
} {
  // Addresses, ports and the pub/sub component's name are the local stack's (it gives each app its own).
  const local = new Set([
    'SERVICE_NAME',
    'PUBSUB_NAME',
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
  const rendered = renderedSecretKeys();
  for (const e of container.env ?? []) {
    names.add(e.name);
    if (local.has(e.name)) continue;
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && (!ref.optional || rendered.has(ref.key))) env[e.name] = generatedSecret(ref.key);
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

/** Runs a one-shot command of the image (a Job, `kubectl exec`) to its end. */
async function runToEnd(argv: string[], cwd: string, env: Record<string, string>) {
  const [command, ...args] = argv;
  if (!command) throw new Error('nothing to run');
  // The image's node: the pinned Node 24 running this test.
  const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd,
      env: { ...process.env, PATH: path, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface Image {
  appId: string;
  /** The pruned production install: the image's /app. */
  dir: string;
  steps: ImageSteps;
}

/** The prune and install stages, replayed into a scratch directory. */
async function installImage(appId: string): Promise<Image> {
  const steps = imageSteps(appId);
  work = scratchDir(`image-${appId}`);
  rmSync(work, { recursive: true, force: true });
  const pruned = join(work, 'pruned');
  const dir = join(work, 'app');
  const exec = async (command: string, args: string[], cwd: string) => {
    const result = await execFileAsync(command, args, { cwd, timeout: 300_000 }).catch(
      (error: { stderr?: string }) => {
        throw new Error(`${command} ${args.join(' ')}: ${error.stderr ?? error}`);
      },
    );
    return result;
  };
  // prune stage
  await exec(
    join(repoRoot, 'node_modules/.bin/turbo'),
    ['prune', steps.pruneTarget, '--docker', '--out-dir', pruned],
    repoRoot,
  );
  // install stage: manifests, production install, then the sources, minus tests
  cpSync(join(pruned, 'json'), dir, { recursive: true });
  await exec('npm', ['install', ...steps.installArgs, '--prefer-offline', '--loglevel=error'], dir);
  cpSync(join(pruned, 'full'), dir, { recursive: true });
  for (const test of filesUnder(join(dir, 'services'), '.test.ts')) rmSync(test);
  return { appId, dir, steps };
}

async function appliedMigrations(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return row?.n ?? 0;
  } finally {
    await sql.end();
  }
}

function journalEntries(appId: string): number {
  const journal = JSON.parse(
    readFileSync(join(repoRoot, 'services', appId, 'drizzle/meta/_journal.json'), 'utf8'),
  );
  return (journal as { entries: unknown[] }).entries.length;
}

beforeAll(provisionTools, PROVISION_TIMEOUT_MS);
afterEach(async () => {
  for (const apps of started.reverse()) await apps.stop();
  started = [];
  // A pruned install is tens of megabytes per service: leave none behind.
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
});

/** Starts an app from the image with its sidecar; it is stopped after the test. */
async function startFromImage(
  image: Image,
  app: {
    appId: string;
    argv: string[];
    env: Record<string, string>;
    database?: string;
    redis?: boolean;
    sidecar?: boolean;
  },
  onExit?: (name: string, exit: Promise<{ code: number | null; signal: string | null }>) => void,
): Promise<AppHandle> {
  const [command, ...args] = app.argv;
  const apps = await startApps({
    infra,
    apps: [
      {
        appId: app.appId,
        command,
        args,
        cwd: image.dir,
        env: {
          ...image.steps.env,
          PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
          ...app.env,
        },
        ...(app.database ? { database: app.database } : {}),
        redis: app.redis ?? false,
        sidecar: app.sidecar ?? true,
        readyTimeoutMs: 120_000,
      },
    ],
    ...(onExit ? { onUnexpectedExit: (process) => onExit(process.name, process.exit) } : {}),
  });
  started.push(apps);
  return apps.apps[app.appId]!;
}

describe('service images, run the way services/Dockerfile and the chart run them', () => {
  // Every service with an entry point: the Dapr apps of the contracts, and the card sandbox.
  const services = readdirSync(join(repoRoot, 'services')).filter((s) =>
    existsSync(join(repoRoot, 'services', s, 'src/main.ts')),
  );
  it('include every service of the contracts', () => {
    expect(services).toEqual(expect.arrayContaining([...appIds]));
  });

  for (const appId of services) {
    it(`${appId}: from the pruned production install, its migration Job and operator commands run, its CMD answers /healthz`, async () => {
      const image = await installImage(appId);
      const workspaces = readdirSync(join(image.dir, 'services')).sort();
      expect(workspaces).toContain(appId);
      expect(workspaces.length, 'only the packages the service needs').toBeLessThan(appIds.length + 2);
      for (const tool of devTooling)
        expect(existsSync(join(image.dir, 'node_modules', tool)), tool).toBe(false);

      const objects = render('default');
      const deployment = objects.find((o) => o.kind === 'Deployment' && serviceOfImage(o) === appId);
      if (!deployment) throw new Error(`the chart runs the image of ${appId} in no Deployment`);
      const annotations = (
        deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } }
      ).template.metadata.annotations;
      const settings = chartSettings(containerOf(deployment));
      const database = settings.database ? `chart_image_${appId.replaceAll('-', '_')}` : undefined;

      const migration = objects.find((o) => o.kind === 'Job' && labelled(appId, 'migrate')(o));
      if ((appIds as readonly string[]).includes(appId)) {
        expect(migration !== undefined, 'a migration Job exactly for the apps with a database').toBe(
          settings.database,
        );
      }
      if (migration && database) {
        const databaseUrl = await ensureDatabase(infra.postgres, database);
        const job = containerOf(migration);
        const result = await runToEnd(argvOf(job, image.steps.cmd), image.dir, {
          ...image.steps.env,
          ...chartSettings(job).env,
          SERVICE_NAME: appId,
          DATABASE_URL: databaseUrl,
        });
        expect(result.status, result.stderr).toBe(0);
        expect(await appliedMigrations(databaseUrl)).toBe(journalEntries(appId));
      }

      const service = await startFromImage(image, {
        appId,
        argv: argvOf(containerOf(deployment), image.steps.cmd),
        env: settings.env,
        ...(database ? { database } : {}),
        redis: settings.redis,
        sidecar: annotations?.['dapr.io/enabled'] === 'true',
      });
      const health = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      expect(health.status).toBe(200);

      if (appId === 'query' && database) await queryOperatorCommands(image, service, database, settings.env);
    }, 600_000);
  }
});

async function publish(
  sidecar: AppHandle,
  topic: Topic | typeof DEAD_LETTER_TOPIC,
  data: unknown,
  cloudEvent: { id: string; type?: string; partitionKey: string },
) {
  const params = new URLSearchParams({
    'metadata.cloudevent.id': cloudEvent.id,
    'metadata.partitionKey': cloudEvent.partitionKey,
  });
  if (cloudEvent.type) params.set('metadata.cloudevent.type', cloudEvent.type);
  const response = await fetch(
    `${sidecar.daprUrl}/v1.0/publish/${infra.dapr.components.pubsub}/${topic}?${params}`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) },
  );
  expect(response.status).toBe(204);
}

function reservationCreated(): EventOf<'reservation.created'> {
  return {
    schemaVersion: SCHEMA_VERSION,
    reservationId: randomUUID(),
    occurredAt: new Date().toISOString(),
    userId: 'image-check',
    showId: randomUUID(),
    ticketTypeId: randomUUID(),
    quantity: 1,
    paymentMethod: { token: 'tok_success' },
    holdExpiresAt: new Date(Date.now() + 600_000).toISOString(),
  };
}

/**
 * Query's operator commands, next to the query service running from the same install: the dead-letter
 * replay (run in the pod, as its header says) and the chart's read-model rebuild Job.
 */
async function queryOperatorCommands(
  image: Image,
  service: AppHandle,
  database: string,
  serviceEnv: Record<string, string>,
) {
  const databaseUrl = service.env.DATABASE_URL!;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const poll = { timeout: 60_000, interval: 250 };
  try {
    // A saga event, and an event some consumer gave up on, through the service's sidecar and Kafka.
    const created = reservationCreated();
    await publish(service, 'reservation.created', created, {
      id: randomUUID(),
      partitionKey: created.reservationId,
    });
    const givenUp = reservationCreated();
    const givenUpEventId = randomUUID();
    await publish(service, DEAD_LETTER_TOPIC, givenUp, {
      id: givenUpEventId,
      type: 'reservation.created',
      partitionKey: givenUp.reservationId,
    });
    const status = async (reservationId: string) =>
      (
        await sql<{ status: string }[]>`
        select status from reservation_details where reservation_id = ${reservationId}`
      )[0]?.status;
    await vi.waitFor(async () => expect(await status(created.reservationId)).toBe('PENDING'), poll);
    const letterId = await vi.waitFor(async () => {
      const [letter] = await sql<{ id: string }[]>`
        select id from dead_letters where cloud_event_id = ${givenUpEventId}`;
      expect(letter).toBeDefined();
      return letter!.id;
    }, poll);

    // The dead-letter replay, run in the query pod: it queues the letter for its topic.
    const replay = await runToEnd(
      ['node', 'services/query/src/commands/replay-dead-letters.ts', letterId],
      image.dir,
      { ...image.steps.env, ...serviceEnv, SERVICE_NAME: 'query', DATABASE_URL: databaseUrl },
    );
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stderr).toContain(`${letterId}: queued for reservation.created`);
    // The running service's relay publishes it, and the projection sees it come back.
    await vi.waitFor(async () => expect(await status(givenUp.reservationId)).toBe('PENDING'), poll);

    // The rebuild Job, with the chart's settings: a row no event backs must go, the events come back.
    const orphan = randomUUID();
    await sql`
      insert into reservation_details (reservation_id, user_id, status, sort_at, details)
      values (${orphan}, 'nobody', 'PENDING', now(), '{}'::jsonb)`;
    const rebuildId = `i${Date.now().toString(36)}`;
    const rendered = parseObjects(
      renderYaml(
        [valuesFiles.default],
        [
          ...['--set', 'queryRebuild.enabled=true', '--set', `queryRebuild.id=${rebuildId}`],
          ...['--set', 'queryRebuild.idleSeconds=5'],
        ],
      ),
    );
    const job = rendered.find(
      (o) => o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/component'] === 'rebuild',
    );
    if (!job) throw new Error('the chart renders no rebuild Job');
    const template = (job.spec as { template: { metadata: { annotations: Record<string, string> } } })
      .template;
    const rebuildAppId = template.metadata.annotations['dapr.io/app-id']!;
    const exits = new Map<string, Promise<{ code: number | null; signal: string | null }>>();
    await startFromImage(
      image,
      {
        appId: rebuildAppId,
        argv: argvOf(containerOf(job), image.steps.cmd),
        env: chartSettings(containerOf(job)).env,
        database,
      },
      (name, exit) => exits.set(name, exit),
    );
    // It ends by itself, app and sidecar, once the replay has gone quiet: a Job that completes.
    await vi.waitFor(
      () => expect([...exits.keys()].sort()).toEqual([rebuildAppId, `${rebuildAppId}.daprd`]),
      {
        timeout: 300_000,
        interval: 500,
      },
    );
    expect(await exits.get(rebuildAppId)).toMatchObject({ code: 0 });
    expect(await status(orphan)).toBeUndefined();
    expect(await status(created.reservationId)).toBe('PENDING');
  } finally {
    await sql.end();
  }
}

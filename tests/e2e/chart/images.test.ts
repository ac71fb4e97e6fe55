// The service images, without a Docker engine: each service is pruned and installed the way
// services/Dockerfile does it (turbo prune --docker, production dependencies only), and everything an
// image is asked to run is run from that tree, with the image's environment and the settings the chart
// gives it:
// - the chart's migration Job of the service (then the migrations are applied);
// - the image's CMD, with its sidecar, which must answer /healthz;
// - query's operator commands: the dead-letter replay an operator runs in the pod, and the chart's
//   read-model rebuild Job, which must empty the read model, replay Kafka and end by itself.
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { appIds, DEAD_LETTER_TOPIC, type EventOf, SCHEMA_VERSION, type Topic } from '@reservex/contracts';
import {
  type AppHandle,
  cacheDir,
  ensureDatabase,
  eventKeyEnv,
  probeApp,
  publishAs,
  type StartedApps,
  startApps,
} from '@reservex/local';
import postgres from 'postgres';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
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
/** Services checked at once: each installs, migrates and starts an app with its sidecar. */
const AT_ONCE = 3;

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
  // Addresses, ports, the pub/sub component's name and the app/sidecar token pair are the local
  // stack's (it gives each app its own, as the chart gives the app and its sidecar the same Secret).
  const local = new Set([
    'SERVICE_NAME',
    'PUBSUB_NAME',
    'DAPR_API_TOKEN',
    'APP_API_TOKEN',
    'PORT',
    'HOST',
    'DAPR_HTTP_PORT',
    'DAPR_GRPC_PORT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'DATABASE_URL',
    'DATABASE_PASSWORD',
    'REDIS_URL',
    'REDIS_PASSWORD',
    // The event keys are the run's, which its other apps sign and verify with.
    'EVENT_SIGNING_KEY',
    'EVENT_TRUSTED_KEYS',
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

async function exec(command: string, args: string[], cwd: string) {
  return execFileAsync(command, args, { cwd, timeout: 300_000 }).catch((error: { stderr?: string }) => {
    throw new Error(`${command} ${args.join(' ')}: ${error.stderr ?? error}`);
  });
}

/** Every file under `dir` (relative path and content), in a stable order. */
function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (at: string) => {
    for (const entry of readdirSync(at).sort()) {
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else
        hash
          .update(`${relative(dir, path)}\0`)
          .update(readFileSync(path))
          .update('\0');
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/**
 * The install stage's result for a pruned `json` tree: `npm install` with the Dockerfile's arguments
 * into a copy of the tree. The result depends only on the manifests and the lock (every version is
 * pinned), the arguments, node and npm, so it is kept in the project cache under their hash and a
 * later run with the same inputs reuses it instead of installing again.
 */
async function installedManifests(json: string, installArgs: string[]): Promise<string> {
  const npmVersion = (await exec('npm', ['--version'], json)).stdout.trim();
  const key = createHash('sha256')
    .update(JSON.stringify([treeHash(json), installArgs, process.version, npmVersion]))
    .digest('hex')
    .slice(0, 16);
  const images = join(cacheDir(), 'build', 'image-installs');
  const done = join(images, key);
  if (existsSync(join(done, '.complete'))) return done;
  mkdirSync(images, { recursive: true });
  const partial = join(images, `${key}.partial-${process.pid}-${randomUUID().slice(0, 8)}`);
  cpSync(json, partial, { recursive: true });
  await exec('npm', ['install', ...installArgs, '--prefer-offline', '--loglevel=error'], partial);
  writeFileSync(join(partial, '.complete'), '');
  try {
    renameSync(partial, done);
  } catch {
    // Another run finished the same install first: theirs is as good.
    rmSync(partial, { recursive: true, force: true });
  }
  return done;
}

/** The prune and install stages, replayed into a scratch directory of the test. */
async function installImage(appId: string, work: string): Promise<Image> {
  const steps = imageSteps(appId);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const pruned = join(work, 'pruned');
  const dir = join(work, 'app');
  // prune stage
  await exec(
    join(repoRoot, 'node_modules/.bin/turbo'),
    ['prune', steps.pruneTarget, '--docker', '--out-dir', pruned],
    repoRoot,
  );
  // install stage: manifests, production install, then the sources, minus tests. The installed tree
  // is hard-linked from the cache (nothing writes into it); the sources replace files by unlinking
  // them first, so the cached copy is never written through a link.
  const installed = await installedManifests(join(pruned, 'json'), steps.installArgs);
  // Hard links need one file system; elsewhere the tree is copied.
  await exec('cp', ['-al', installed, dir], work).catch(() => exec('cp', ['-a', installed, dir], work));
  rmSync(join(dir, '.complete'));
  await exec('cp', ['-a', '--remove-destination', `${join(pruned, 'full')}/.`, dir], work);
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

/** What one service's check started and wrote: stopped and removed when its test ends. */
class Scratch {
  readonly work: string;
  private readonly started: StartedApps<string>[] = [];
  constructor(appId: string) {
    this.work = scratchDir(`image-${appId}`);
  }
  add(apps: StartedApps<string>) {
    this.started.push(apps);
  }
  async clean() {
    for (const apps of this.started.reverse()) await apps.stop();
    // A pruned install is tens of megabytes per service: leave none behind.
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Each service's image check, resolved once it finished and its apps are stopped. */
const checked = new Map<string, PromiseWithResolvers<void>>();

/** At most `n` of the calls run at once. */
function limiter(n: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Starts an app from the image with its sidecar; it is stopped when the test ends. */
async function startFromImage(
  scratch: Scratch,
  image: Image,
  app: {
    appId: string;
    argv: string[];
    env: Record<string, string>;
    database?: string;
    redis?: boolean;
    sidecar?: boolean;
    fromOldest?: boolean;
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
        ...(app.fromOldest ? { fromOldest: true } : {}),
        readyTimeoutMs: 120_000,
      },
    ],
    ...(onExit ? { onUnexpectedExit: (process) => onExit(process.name, process.exit) } : {}),
  });
  scratch.add(apps);
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

  // The services are checked side by side (each in its own scratch directory, database and apps).
  const slot = limiter(AT_ONCE);
  for (const appId of services) checked.set(appId, Promise.withResolvers<void>());
  // Reservation first: query's operator commands wait for its check to end (see there).
  const order = [...services].sort((a, b) => Number(b === 'reservation') - Number(a === 'reservation'));
  for (const appId of order) {
    it.concurrent(
      `${appId}: from the pruned production install, its migration Job and operator commands run, its CMD answers /healthz`,
      ({ onTestFinished }) =>
        slot(async () => {
          const scratch = new Scratch(appId);
          onTestFinished(async () => {
            await scratch.clean();
            checked.get(appId)?.resolve();
          });
          const image = await installImage(appId, scratch.work);
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

          const service = await startFromImage(scratch, image, {
            appId,
            argv: argvOf(containerOf(deployment), image.steps.cmd),
            env: settings.env,
            ...(database ? { database } : {}),
            redis: settings.redis,
            sidecar: annotations?.['dapr.io/enabled'] === 'true',
          });
          const health = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(5000) });
          expect(health.status).toBe(200);

          if (appId === 'query' && database)
            await queryOperatorCommands(scratch, image, service, database, settings.env);
        }),
      600_000,
    );
  }
});

async function publish(
  sidecar: AppHandle,
  topic: Topic | typeof DEAD_LETTER_TOPIC,
  data: unknown,
  cloudEvent: { id: string; type?: string; partitionKey: string },
) {
  const metadata: Record<string, string> = {
    'cloudevent.id': cloudEvent.id,
    partitionKey: cloudEvent.partitionKey,
  };
  if (cloudEvent.type) metadata['cloudevent.type'] = cloudEvent.type;
  // Through the app's own sidecar, with its Dapr API token and, if it publishes, signed with its
  // event key of the run: as the app publishes.
  const response = await publishAs(sidecar, infra.dapr.components.pubsub, topic, data, metadata);
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
  scratch: Scratch,
  image: Image,
  service: AppHandle,
  database: string,
  serviceEnv: Record<string, string>,
) {
  const databaseUrl = service.env.DATABASE_URL!;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const poll = { timeout: 60_000, interval: 250 };
  // The stand-in below takes reservation's app id: with the reservation image's own instance still
  // up (or shutting down) beside it, query's sidecar could hand the replay to that one instead.
  await checked.get('reservation')?.promise;
  try {
    // A saga event from its owner (only the owner of a topic may publish it: a probe stands in for
    // reservation), and an event some consumer gave up on, from query's own sidecar (a consumer may
    // dead-letter), through Kafka.
    const owner = await startApps({
      infra,
      apps: [{ appId: 'reservation', args: [probeApp], readyTimeoutMs: 120_000 }],
    });
    scratch.add(owner);
    const created = reservationCreated();
    await publish(owner.apps.reservation, 'reservation.created', created, {
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

    // The dead-letter replay, run in the query pod beside its sidecar (the pod's DAPR_HTTP_PORT and
    // DAPR_API_TOKEN): it asks the topic's owner, through query's sidecar and the owner's access
    // control, to publish the event again. The stand-in never published it, so the owner's answer
    // is that it holds no such event: the command reached it and reports what it said.
    const replay = await runToEnd(
      ['node', 'services/query/src/commands/replay-dead-letters.ts', letterId],
      image.dir,
      {
        ...image.steps.env,
        ...serviceEnv,
        SERVICE_NAME: 'query',
        DATABASE_URL: databaseUrl,
        DAPR_HTTP_PORT: service.env.DAPR_HTTP_PORT!,
        DAPR_API_TOKEN: service.env.DAPR_API_TOKEN!,
      },
    );
    expect(replay.status, replay.stderr).toBe(1);
    expect(replay.stderr).toContain(
      `${letterId}: not replayed: reservation holds no event ${givenUpEventId} of reservation.created`,
    );

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
      scratch,
      image,
      {
        appId: rebuildAppId,
        argv: argvOf(containerOf(job), image.steps.cmd),
        // The Job reads query's events: it verifies them with the keys query trusts, the run's.
        env: { ...chartSettings(containerOf(job)).env, ...eventKeyEnv(infra.runDir, 'query') },
        database,
        // A fresh consumer group reading from the oldest offset, as the Job's own app id gives it.
        fromOldest: true,
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

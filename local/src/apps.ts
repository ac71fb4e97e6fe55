// Apps with their own daprd sidecar, against a running infrastructure: the way every service runs
// locally and in the stack tests. Each app and each sidecar has its own log file and ports; a handle
// can stop, crash (SIGKILL) and restart the app or its sidecar, as chaos tests need.

import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { isAppId, subscribableBy, USER_FACING_CALLER } from '@reservex/contracts';
import { type ProcessControl, restartable } from './control.ts';
import { eventKeyEnv, signedCloudEvent } from './event-keys.ts';
import { consumerGroupOf, stackConsumerGroup, startGroupsAtEnd } from './infra/consumer-groups.ts';
import type { DeliveryRetry } from './infra/dapr-resources.ts';
import {
  ensureDatabase,
  type InfraInfo,
  type ResourceDirs,
  databaseUrl as urlOf,
  writeResources,
} from './infra/index.ts';
import { writeSentryToken } from './infra/sentry.ts';
import { compileCacheEnv, repoRoot } from './paths.ts';
import { freePort, freePorts } from './ports.ts';
import { elapsed, say } from './progress.ts';
import { httpOk, waitUntil } from './readiness.ts';
import { createRun, type Run } from './run.ts';
import type { Supervised } from './supervisor.ts';

export interface AppSpec<Id extends string = string> {
  /** Dapr app id; also SERVICE_NAME and the log file name. */
  appId: Id;
  /** Executable; Node 24 (the one running this) when omitted. */
  command?: string;
  args: readonly string[];
  /** Working directory; the repository root when omitted. */
  cwd?: string;
  /** Extra environment, on top of what every app gets (see appEnv). */
  env?: Record<string, string>;
  /** Database created (if absent) before start and passed as DATABASE_URL. */
  database?: string;
  /** Pass REDIS_URL (for direct Redis use where Dapr has no building block). */
  redis?: boolean;
  /** The app's own port, chosen by the caller (to hand its address to another app before it is up). */
  port?: number;
  /** Path answering 2xx once the process is up; /healthz when omitted. */
  healthPath?: string;
  /** Start without a sidecar (an app that needs no Dapr). */
  sidecar?: boolean;
  /**
   * Its consumer group reads every topic from the oldest offset instead of starting where the topics
   * end now: an app that replays history (the read-model rebuild Job).
   */
  fromOldest?: boolean;
  /** Bound on waiting for the app and its sidecar to be ready; 60 s when omitted. */
  readyTimeoutMs?: number;
  logLevel?: string;
}

export interface AppPorts {
  app: number;
  daprHttp: number;
  daprGrpc: number;
  daprInternalGrpc: number;
  metrics: number;
}

/**
 * The secrets between an app and its sidecar, made per app and run: the sidecar answers only calls
 * carrying `dapr` (DAPR_API_TOKEN), the app only requests carrying `app` (APP_API_TOKEN).
 */
export interface AppTokens {
  dapr: string;
  app: string;
}

export interface AppHandle extends ProcessControl {
  appId: string;
  tokens: AppTokens;
  /** Base URL of the app itself, e.g. http://127.0.0.1:23456. */
  url: string;
  /** Base URL of its sidecar's HTTP API, e.g. http://127.0.0.1:23457. */
  daprUrl: string;
  ports: AppPorts;
  appPort: number;
  daprHttpPort: number;
  daprGrpcPort: number;
  /** The environment the app was started with. */
  env: Record<string, string>;
  /** The daprd next to it; undefined for an app started with `sidecar: false`. */
  sidecar: ProcessControl | undefined;
  /** Stops app and sidecar. */
  stopAll(): Promise<void>;
}

export interface StartedApps<Id extends string> {
  apps: Record<Id, AppHandle>;
  run: Run;
  /**
   * Starts one more instance of an app of this stack: the same command, settings and consumer group,
   * its own ports, pid and sidecar (`<appId>.<n>` in logs). Kafka shares the partitions between the
   * instances, and service invocation reaches either.
   */
  addReplica(appId: Id): Promise<AppHandle>;
  /** The instances started by `addReplica`, in start order. */
  replicas(): AppHandle[];
  /** Stops every app and sidecar of this call. */
  stop(): Promise<void>;
}

export interface StartAppsOptions<Id extends string> {
  infra: InfraInfo;
  apps: readonly AppSpec<Id>[];
  /** More resource directories for every sidecar of these apps (a component of their own). */
  resources?: readonly string[];
  /**
   * The sidecars' delivery retries before a dead letter, instead of the policy's (`RESILIENCY`): a
   * test of the dead-letter path need not wait out the whole policy.
   */
  deliveryRetry?: DeliveryRetry;
  /** Called when an app or sidecar exits without being asked to (e.g. `npm start` shouts). */
  onUnexpectedExit?: (process: Supervised) => void;
  /**
   * The sidecars start once this resolves, the apps at once: infrastructure a sidecar needs and its
   * app does not (Kafka) may still be starting (`launchInfra`). A rejection stops the apps.
   */
  sidecarsAfter?: Promise<unknown>;
  /**
   * The apps' databases are created once this resolves (Postgres serves), the apps start at once:
   * only for apps that wait for their database themselves (a service's DATABASE_WAIT_MS), since one
   * may reach its migration first. A rejection stops the apps.
   */
  databasesAfter?: Promise<unknown>;
}

/** How often an app's and a sidecar's health is asked while they start: a local HTTP call is cheap. */
const READY_POLL_MS = 50;

export function newTokens(): AppTokens {
  return { dapr: randomBytes(32).toString('base64url'), app: randomBytes(32).toString('base64url') };
}

/**
 * The environment every app receives (see the service registry for service-specific additions).
 * A service checks the app API token on every request; the gateway, whose port is the public entry,
 * does not (its sidecar forwards nothing to it), nor do test apps, which tests call directly.
 */
export function appEnv(
  infra: InfraInfo,
  spec: AppSpec,
  ports: AppPorts,
  databaseUrl?: string,
  tokens: AppTokens = newTokens(),
): Record<string, string> {
  const env: Record<string, string> = {
    SERVICE_NAME: spec.appId,
    PORT: String(ports.app),
    HOST: '127.0.0.1',
    DAPR_HOST: '127.0.0.1',
    DAPR_HTTP_PORT: String(ports.daprHttp),
    DAPR_GRPC_PORT: String(ports.daprGrpc),
    PUBSUB_NAME: infra.dapr.components.pubsub,
    STATESTORE_NAME: infra.dapr.components.statestore,
    LOCKSTORE_NAME: infra.dapr.components.lockstore,
    OTEL_EXPORTER_OTLP_ENDPOINT: infra.jaeger.otlpHttpUrl,
    LOG_LEVEL: spec.logLevel ?? 'info',
    DAPR_API_TOKEN: tokens.dapr,
  };
  if (isAppId(spec.appId) && spec.appId !== USER_FACING_CALLER) env.APP_API_TOKEN = tokens.app;
  if (isAppId(spec.appId)) Object.assign(env, eventKeyEnv(infra.runDir, spec.appId));
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (spec.redis) env.REDIS_URL = infra.redis.url;
  return { ...env, ...spec.env };
}

/**
 * daprd's command line: own ports, loopback only, no placement or scheduler (no actors, no jobs);
 * mTLS with the run's sentry; a service gets its own configuration (its access control) and the
 * topic-scoped components.
 */
export function sidecarArgs(
  infra: InfraInfo,
  appId: string,
  ports: AppPorts,
  healthPath: string,
  resources: ResourceDirs = infra.dapr,
): string[] {
  const service = isAppId(appId);
  return [
    '--app-id',
    appId,
    '--app-port',
    String(ports.app),
    '--app-protocol',
    'http',
    '--app-channel-address',
    '127.0.0.1',
    '--dapr-listen-addresses',
    '127.0.0.1',
    '--dapr-http-port',
    String(ports.daprHttp),
    '--dapr-grpc-port',
    String(ports.daprGrpc),
    '--dapr-internal-grpc-port',
    String(ports.daprInternalGrpc),
    '--metrics-port',
    String(ports.metrics),
    '--resources-path',
    service ? resources.resourcesDir : resources.unscopedResourcesDir,
    '--config',
    service ? infra.dapr.configFiles[appId] : infra.dapr.configFile,
    '--enable-mtls',
    '--sentry-address',
    infra.dapr.sentry.address,
    // While the app is down (crashed, restarting) the sidecar stops delivering to it.
    '--enable-app-health-check',
    '--app-health-check-path',
    healthPath,
    '--app-health-probe-interval',
    '1',
    '--app-health-probe-timeout',
    '500',
    '--app-health-threshold',
    '2',
    '--log-level',
    'info',
  ];
}

/**
 * What an app's sidecar sends along when `caller` invokes it: the app API token and the calling app
 * id. For tests and tools that reach an app's port directly, as its sidecar would.
 */
export function deliveredBy(app: Pick<AppHandle, 'tokens'>, caller: string = USER_FACING_CALLER) {
  return { 'dapr-api-token': app.tokens.app, 'dapr-caller-app-id': caller };
}

/**
 * Publishes through `app`'s own sidecar with its Dapr API token: as that app would publish, signed
 * with its event key when it has one (`cloudevent.id`/`cloudevent.type` in `metadata` name the
 * event's id and type).
 */
export function publishAs(
  app: Pick<AppHandle, 'appId' | 'daprUrl' | 'tokens' | 'env'>,
  pubsub: string,
  topic: string,
  data: unknown,
  metadata: Record<string, string> = {},
): Promise<Response> {
  const { 'cloudevent.id': id, 'cloudevent.type': type, ...rest } = metadata;
  const key = app.env.EVENT_SIGNING_KEY;
  const signed = key !== undefined;
  const query = new URLSearchParams(
    Object.fromEntries(
      Object.entries(signed ? rest : metadata).map(([name, value]) => [`metadata.${name}`, value]),
    ),
  );
  return fetch(`${app.daprUrl}/v1.0/publish/${pubsub}/${topic}?${query}`, {
    method: 'POST',
    headers: {
      'content-type': signed ? 'application/cloudevents+json' : 'application/json',
      'dapr-api-token': app.tokens.dapr,
    },
    body: JSON.stringify(signed ? signedCloudEvent(key, app.appId, topic, data, { id, type }) : data),
    signal: AbortSignal.timeout(15_000),
  });
}

/**
 * daprd's environment: the token it requires of its app, the token it sends to its app, the run's
 * trust anchors, and the token proving its app id to sentry.
 */
export function sidecarEnv(infra: InfraInfo, appId: string, tokens: AppTokens): Record<string, string> {
  return {
    DAPR_HOST_IP: '127.0.0.1',
    DAPR_API_TOKEN: tokens.dapr,
    APP_API_TOKEN: tokens.app,
    DAPR_TRUST_ANCHORS: infra.dapr.sentry.trustAnchors,
    DAPR_SENTRY_TOKEN_FILE: writeSentryToken(infra.dapr.sentry, appId),
  };
}

/**
 * Starts apps, each with its sidecar, as one stack. The stack's sidecars consume in consumer groups
 * of their own, started at the current end of the topics they may read (unless `fromOldest`): a stack
 * sees what is published from its start on, never what an earlier stack left unconsumed.
 */
export async function startApps<const Id extends string>(
  options: StartAppsOptions<Id>,
): Promise<StartedApps<Id>> {
  const { infra } = options;
  const run = createRun({ label: 'apps', parentDir: infra.runDir });
  if (options.onUnexpectedExit) run.onUnexpectedExit(options.onUnexpectedExit);
  try {
    const stack = basename(run.dir);
    const resources = writeResources(join(run.dir, 'dapr'), infra.dapr.targets, {
      consumerGroup: stackConsumerGroup(stack),
      ...(options.deliveryRetry ? { deliveryRetry: options.deliveryRetry } : {}),
    });
    const consumers = options.apps.filter((spec) => spec.sidecar !== false && !spec.fromOldest);
    // The groups are committed once Kafka serves (it may still be starting: `sidecarsAfter`), and
    // before any sidecar of the stack joins them.
    const groupsStarted = (async () => {
      await options.sidecarsAfter;
      await startGroupsAtEnd(
        infra.kafka.brokers,
        consumers.map((spec) => ({
          group: consumerGroupOf(spec.appId, stack),
          topics: isAppId(spec.appId) ? subscribableBy(spec.appId) : undefined,
        })),
      );
    })();
    // Observed by every app's start; this keeps a rejection from being reported as unhandled first.
    groupsStarted.catch(() => {});
    const sidecars = { resources, more: options.resources ?? [] };
    const after = { sidecarsAfter: groupsStarted, databasesAfter: options.databasesAfter };
    const handles = await Promise.all(
      options.apps.map((spec) => startApp(run, infra, spec, sidecars, after)),
    );
    const apps = Object.fromEntries(handles.map((h) => [h.appId, h])) as Record<Id, AppHandle>;
    const replicas: AppHandle[] = [];
    return {
      apps,
      run,
      async addReplica(appId) {
        const spec = options.apps.find((s) => s.appId === appId);
        if (!spec) throw new Error(`${appId} is not an app of this stack`);
        // Its own port: the first instance's was chosen for it.
        const { port: _first, ...rest } = spec;
        const instance = 2 + replicas.filter((r) => r.appId === appId).length;
        const handle = await startApp(run, infra, rest, sidecars, after, instance);
        replicas.push(handle);
        handles.push(handle);
        return handle;
      },
      replicas: () => [...replicas],
      // Apps first (they finish in-flight work, which may still need their sidecar), then sidecars.
      async stop() {
        await Promise.all(handles.map((h) => h.stop()));
        await Promise.all(handles.map((h) => h.sidecar?.stop()));
        await run.stop();
      },
    };
  } catch (error) {
    await run.stop();
    throw error;
  }
}

async function startApp(
  run: Run,
  infra: InfraInfo,
  spec: AppSpec,
  sidecars: { resources: ResourceDirs; more: readonly string[] },
  after: Pick<StartAppsOptions<string>, 'sidecarsAfter' | 'databasesAfter'>,
  instance = 1,
): Promise<AppHandle> {
  const name = instance === 1 ? spec.appId : `${spec.appId}.${instance}`;
  const started = performance.now();
  const ports: AppPorts = {
    app: spec.port ?? (await freePort()),
    ...(await freePorts(['daprHttp', 'daprGrpc', 'daprInternalGrpc', 'metrics'] as const)),
  };
  const database = spec.database;
  // Created before the app starts, or (databasesAfter) beside it, once Postgres serves.
  const databaseCreated =
    database !== undefined && after.databasesAfter
      ? after.databasesAfter.then(() => ensureDatabase(infra.postgres, database))
      : undefined;
  if (database !== undefined && !after.databasesAfter) await ensureDatabase(infra.postgres, database);
  const databaseUrl = database === undefined ? undefined : urlOf(infra.postgres, database);
  const tokens = newTokens();
  const env = appEnv(infra, spec, ports, databaseUrl, tokens);
  const healthPath = spec.healthPath ?? '/healthz';
  const timeoutMs = spec.readyTimeoutMs ?? 60_000;
  const url = `http://127.0.0.1:${ports.app}`;
  const daprUrl = `http://127.0.0.1:${ports.daprHttp}`;

  const appControl = restartable(run, {
    spec: {
      name,
      command: spec.command ?? process.execPath,
      args: spec.args,
      cwd: spec.cwd ?? repoRoot,
      env: spec.command ? env : { ...env, ...compileCacheEnv() },
    },
    ready: (process) =>
      waitUntil(`${spec.appId} ${healthPath}`, () => httpOk(`${url}${healthPath}`), {
        timeoutMs,
        process,
        intervalMs: READY_POLL_MS,
      }),
  });
  const sidecarControl =
    spec.sidecar === false
      ? undefined
      : restartable(run, {
          spec: {
            name: `${name}.daprd`,
            command: infra.dapr.daprd,
            args: [
              ...sidecarArgs(infra, spec.appId, ports, healthPath, sidecars.resources),
              ...sidecars.more.flatMap((dir) => ['--resources-path', dir]),
            ],
            env: sidecarEnv(infra, spec.appId, tokens),
          },
          ready: (process) =>
            waitUntil(`${spec.appId} sidecar`, () => httpOk(`${daprUrl}/v1.0/healthz`), {
              timeoutMs,
              process,
              intervalMs: READY_POLL_MS,
            }),
        });

  // Both at once: the sidecar waits for the app's port, the app may wait for its sidecar.
  await Promise.all([
    appControl.start(),
    databaseCreated,
    (async () => {
      await after.sidecarsAfter;
      await sidecarControl?.start();
    })(),
  ]);
  say(`${name}: up in ${elapsed(started)} at ${url}${sidecarControl ? ` (dapr ${daprUrl})` : ''}`);

  return {
    appId: spec.appId,
    tokens,
    url,
    daprUrl,
    ports,
    appPort: ports.app,
    daprHttpPort: ports.daprHttp,
    daprGrpcPort: ports.daprGrpc,
    env,
    sidecar: sidecarControl,
    stop: appControl.stop,
    kill: appControl.kill,
    pause: appControl.pause,
    resume: appControl.resume,
    restart: appControl.restart,
    running: appControl.running,
    pid: appControl.pid,
    logFile: appControl.logFile,
    logs: appControl.logs,
    async stopAll() {
      await appControl.stop();
      await sidecarControl?.stop();
    },
  };
}

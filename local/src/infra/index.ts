// The shared infrastructure of a local stack: Postgres, Redis, Kafka and Jaeger on free loopback
// ports, plus the Dapr resources (components, configuration, resiliency) pointing at them, and Dapr's
// sentry for the sidecars' mTLS.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppId } from '@reservex/contracts';
import type { ProcessControl } from '../control.ts';
import { freePorts } from '../ports.ts';
import { elapsed, say } from '../progress.ts';
import { provision, type Toolchain } from '../provision/index.ts';
import { createRun, type Run, reapStaleRuns } from '../run.ts';
import {
  COMPONENTS,
  type ComponentOptions,
  type DeliveryRetry,
  type ResourceTargets,
  renderAll,
} from './dapr-resources.ts';
import { type JaegerInfo, jaegerInfo, startJaeger } from './jaeger.ts';
import { type BrokerJit, type KafkaInfo, startKafka } from './kafka.ts';
import { type PostgresInfo, postgresInfo, startPostgres } from './postgres.ts';
import { type RedisInfo, redisInfo, startRedis } from './redis.ts';
import { type SentryInfo, startSentry } from './sentry.ts';

/** A --resources-path for services' sidecars, and one without topic scopes for other apps' sidecars. */
export interface ResourceDirs {
  resourcesDir: string;
  unscopedResourcesDir: string;
}

/**
 * The run's resource directories are for a sidecar started on its own (consumer group: its app id);
 * `startApps` writes each stack its own from `targets`, with the stack's consumer groups.
 */
export interface DaprInfo extends ResourceDirs {
  daprd: string;
  /** What the resources point at. */
  targets: ResourceTargets;
  /** File passed as --config to a sidecar of an app that is not a ReserveX service (test apps). */
  configFile: string;
  /** Each service's --config: the shared configuration plus its access control. */
  configFiles: Record<AppId, string>;
  components: typeof COMPONENTS;
  /** The certificate authority every sidecar gets its mTLS identity from. */
  sentry: SentryInfo;
}

/** Everything a test or an app needs to reach the infrastructure; plain data (vitest `provide`s it). */
export interface InfraInfo {
  runDir: string;
  postgres: PostgresInfo;
  redis: RedisInfo;
  kafka: KafkaInfo;
  jaeger: JaegerInfo;
  dapr: DaprInfo;
}

export type InfraProcess = 'postgres' | 'redis' | 'kafka' | 'jaeger' | 'sentry';

export interface StartedInfra {
  info: InfraInfo;
  run: Run;
  /** Each server, to stop, crash (kill) or restart it with the same port and data (chaos tests). */
  processes: Record<InfraProcess, ProcessControl>;
  stop(): Promise<void>;
}

export interface StartInfraOptions {
  /** Already provisioned tools (provisioning is skipped). */
  toolchain?: Toolchain;
  /** Run directory name prefix: `stack` (tests) unless given; `npm start` uses `up`. */
  label?: string;
  /** How Kafka's JVM compiles (`BrokerJit`): `startup` unless given; benchmarks ask for `throughput`. */
  brokerJit?: BrokerJit;
}

/**
 * A start of the infrastructure in steps, so that apps start as early as they can: an app's own
 * process needs only the addresses (it waits for its database itself, and Redis and Jaeger are up
 * long before it has loaded); its database is created once Postgres serves; its sidecar needs sentry,
 * Redis, Jaeger and Kafka serving. Kafka, a JVM, is the slowest to come up.
 */
export interface InfraLaunch {
  /**
   * Resolves once sentry serves (its trust anchors are in the info): the run and its complete info,
   * every address known, the servers possibly still starting. Enough to start apps whose databases
   * are created after `postgres` (`startApps`' `databasesAfter`) and whose sidecars start after
   * `ready` (`sidecarsAfter`).
   */
  forApps: Promise<{ info: InfraInfo; run: Run }>;
  /** Resolves once Postgres serves. */
  postgres: Promise<void>;
  /** Resolves once everything serves, Kafka included; rejects (having stopped the run) if any fails. */
  ready: Promise<StartedInfra>;
  /** When each server was ready, in ms since the launch; filled in as they come up. */
  timings: Partial<Record<InfraProcess, number>>;
}

export function launchInfra(options: StartInfraOptions = {}): InfraLaunch {
  const timings: InfraLaunch['timings'] = {};
  let appsMayStart: (value: { info: InfraInfo; run: Run }) => void = () => {};
  let appsMayNot: (error: unknown) => void = () => {};
  const forApps = new Promise<{ info: InfraInfo; run: Run }>((resolve, reject) => {
    appsMayStart = resolve;
    appsMayNot = reject;
  });
  let postgresUp: () => void = () => {};
  let postgresDown: (error: unknown) => void = () => {};
  const postgres = new Promise<void>((resolve, reject) => {
    postgresUp = resolve;
    postgresDown = reject;
  });
  // A caller may await only `ready`; the same failure then reaches it there.
  forApps.catch(() => {});
  postgres.catch(() => {});
  const ready = (async (): Promise<StartedInfra> => {
    const launched = performance.now();
    const timed = <T>(name: InfraProcess, work: Promise<T>) => {
      const done = work.then((value) => {
        timings[name] = performance.now() - launched;
        return value;
      });
      // Each is awaited below; one failing while another is awaited must not count as unhandled.
      done.catch(() => {});
      return done;
    };
    const toolchain = options.toolchain ?? (await provision());
    reapStaleRuns();
    const run = createRun({ label: options.label ?? 'stack' });
    say(`starting Postgres, Redis, Kafka and Jaeger (run dir ${run.dir})`);
    try {
      const ports = await freePorts([
        'postgres',
        'redis',
        'kafka',
        'kafkaController',
        'otlpGrpc',
        'otlpHttp',
        'jaegerQuery',
        'jaegerQueryGrpc',
        'sentry',
        'sentryHealthz',
      ] as const);
      const jaegerPorts = {
        otlpGrpc: ports.otlpGrpc,
        otlpHttp: ports.otlpHttp,
        query: ports.jaegerQuery,
        queryGrpc: ports.jaegerQueryGrpc,
      };
      const kafkaStart = timed(
        'kafka',
        startKafka(
          run,
          toolchain,
          { broker: ports.kafka, controller: ports.kafkaController },
          options.brokerJit,
        ),
      );
      const pgStart = timed('postgres', startPostgres(run, toolchain.postgresBin, ports.postgres));
      pgStart.then(() => postgresUp(), postgresDown);
      const redisStart = timed('redis', startRedis(run, toolchain.redisServer, ports.redis));
      const jaegerStart = timed('jaeger', startJaeger(run, toolchain.jaeger, jaegerPorts));
      const sentry = await timed(
        'sentry',
        startSentry(run, toolchain.sentry, { grpc: ports.sentry, healthz: ports.sentryHealthz }),
      );
      const redis = redisInfo(ports.redis);
      const jaeger = jaegerInfo(jaegerPorts);
      const kafkaBrokers = `127.0.0.1:${ports.kafka}`;
      const dapr = writeDaprResources(run.dir, toolchain.daprd, sentry.info, {
        kafkaBrokers,
        redisHost: `${redis.host}:${redis.port}`,
        otlpGrpcEndpoint: jaeger.otlpGrpcEndpoint,
        nameResolutionDb: join(run.dir, 'dapr', 'name-resolution.db'),
      });
      const info: InfraInfo = {
        runDir: run.dir,
        postgres: postgresInfo(ports.postgres),
        redis,
        kafka: { brokers: kafkaBrokers, port: ports.kafka },
        jaeger,
        dapr,
      };
      writeFileSync(join(run.dir, 'infra.json'), `${JSON.stringify(info, null, 2)}\n`);
      appsMayStart({ info, run });
      const [pg, redisServer, jaegerServer, kafka] = await Promise.all([
        pgStart,
        redisStart,
        jaegerStart,
        kafkaStart,
      ]);
      say(`infrastructure up in ${elapsed(launched)}`);
      return {
        info,
        run,
        processes: {
          postgres: pg.process,
          redis: redisServer.process,
          kafka: kafka.process,
          jaeger: jaegerServer.process,
          sentry: sentry.process,
        },
        stop: () => run.stop(),
      };
    } catch (error) {
      await run.stop();
      throw error;
    }
  })();
  ready.catch((error: unknown) => {
    appsMayNot(error);
    postgresDown(error);
  });
  return { forApps, postgres, ready, timings };
}

export async function startInfra(options: StartInfraOptions = {}): Promise<StartedInfra> {
  return launchInfra(options).ready;
}

/** Writes the components and the resiliency into `dir`/resources and `dir`/resources-unscoped. */
export function writeResources(
  dir: string,
  targets: ResourceTargets,
  options: Pick<ComponentOptions, 'consumerGroup'> & { deliveryRetry?: DeliveryRetry } = {},
): ResourceDirs {
  const resourcesDir = join(dir, 'resources');
  mkdirSync(resourcesDir, { recursive: true });
  const unscopedResourcesDir = join(dir, 'resources-unscoped');
  mkdirSync(unscopedResourcesDir, { recursive: true });
  const rendered = renderAll(targets, options);
  for (const [file, yaml] of Object.entries(rendered.resources))
    writeFileSync(join(resourcesDir, file), yaml);
  for (const [file, yaml] of Object.entries(rendered.unscopedResources))
    writeFileSync(join(unscopedResourcesDir, file), yaml);
  return { resourcesDir, unscopedResourcesDir };
}

function writeDaprResources(
  runDir: string,
  daprd: string,
  sentry: SentryInfo,
  targets: ResourceTargets,
): DaprInfo {
  const dir = join(runDir, 'dapr');
  const { resourcesDir, unscopedResourcesDir } = writeResources(dir, targets);
  const rendered = renderAll(targets);
  const configFile = join(dir, 'configuration.yaml');
  writeFileSync(configFile, rendered.configuration);
  const configFiles = Object.fromEntries(
    Object.entries(rendered.configurations).map(([app, yaml]) => {
      const file = join(dir, `configuration-${app}.yaml`);
      writeFileSync(file, yaml);
      return [app, file];
    }),
  ) as Record<AppId, string>;
  return {
    daprd,
    targets,
    resourcesDir,
    unscopedResourcesDir,
    configFile,
    configFiles,
    components: COMPONENTS,
    sentry,
  };
}

export { databaseUrl, ensureDatabase } from './postgres.ts';

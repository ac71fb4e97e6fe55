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
import { COMPONENTS, type ComponentOptions, type ResourceTargets, renderAll } from './dapr-resources.ts';
import { type JaegerInfo, startJaeger } from './jaeger.ts';
import { type KafkaInfo, startKafka } from './kafka.ts';
import { type PostgresInfo, startPostgres } from './postgres.ts';
import { type RedisInfo, startRedis } from './redis.ts';
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
}

export async function startInfra(options: StartInfraOptions = {}): Promise<StartedInfra> {
  const toolchain = options.toolchain ?? (await provision());
  reapStaleRuns();
  const run = createRun({ label: options.label ?? 'stack' });
  const started = performance.now();
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
    const [pg, redis, kafka, jaeger, sentry] = await Promise.all([
      startPostgres(run, toolchain.postgresBin, ports.postgres),
      startRedis(run, toolchain.redisServer, ports.redis),
      startKafka(run, toolchain, { broker: ports.kafka, controller: ports.kafkaController }),
      startJaeger(run, toolchain.jaeger, {
        otlpGrpc: ports.otlpGrpc,
        otlpHttp: ports.otlpHttp,
        query: ports.jaegerQuery,
        queryGrpc: ports.jaegerQueryGrpc,
      }),
      startSentry(run, toolchain.sentry, { grpc: ports.sentry, healthz: ports.sentryHealthz }),
    ]);
    const dapr = writeDaprResources(run.dir, toolchain.daprd, sentry.info, {
      kafkaBrokers: kafka.info.brokers,
      redisHost: `${redis.info.host}:${redis.info.port}`,
      otlpGrpcEndpoint: jaeger.info.otlpGrpcEndpoint,
      nameResolutionDb: join(run.dir, 'dapr', 'name-resolution.db'),
    });
    const info: InfraInfo = {
      runDir: run.dir,
      postgres: pg.info,
      redis: redis.info,
      kafka: kafka.info,
      jaeger: jaeger.info,
      dapr,
    };
    writeFileSync(join(run.dir, 'infra.json'), `${JSON.stringify(info, null, 2)}\n`);
    say(`infrastructure up in ${elapsed(started)}`);
    return {
      info,
      run,
      processes: {
        postgres: pg.process,
        redis: redis.process,
        kafka: kafka.process,
        jaeger: jaeger.process,
        sentry: sentry.process,
      },
      stop: () => run.stop(),
    };
  } catch (error) {
    await run.stop();
    throw error;
  }
}

/** Writes the components and the resiliency into `dir`/resources and `dir`/resources-unscoped. */
export function writeResources(
  dir: string,
  targets: ResourceTargets,
  options: Pick<ComponentOptions, 'consumerGroup'> = {},
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

// A service is a declaration: its name, configuration, database, hono app, the topics it consumes,
// its relay and its background workers. `runService` runs one: configuration, telemetry, the
// migration, the database pool, Dapr (and Redis where the service needs it), the app, the
// subscriptions, the relay (with the owner's side of dead-letter replay), the workers, then
// listening; on SIGTERM the reverse. The same entry point with `migrate`
// (`node services/<name>/src/main.ts migrate`) applies the migrations and exits. A sidecarless
// service of the contracts (the card sandbox) is run the same way without the Dapr parts: no
// sidecar, no events, no relay.
//
// What a service consumes is checked against the contracts' topology at compile time: `consumes`
// must name exactly the topics `topology[name].consumes` lists.
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  type AppId,
  deployments,
  isAppId,
  readsDeadLetters,
  type ServiceName,
  type SigningKey,
  signingKeyFrom,
  type Topic,
  type TrustedKeys,
  topology,
  trustedKeysFrom,
  trustedOwnersOf,
} from '@reservex/contracts';
import { Redis, type RedisOptions } from 'ioredis';
import type { z } from 'zod';
import {
  baseConfigShape,
  type ConfigOf,
  databaseConfigShape,
  loadConfig,
  misnamedDurations,
  parseConfig,
  urlFromString,
} from '../config/index.ts';
import { createDapr, type Dapr } from '../dapr/index.ts';
import { createDatabase, type DatabaseHandle, databaseReady, migrate, type Schema } from '../db/index.ts';
import {
  type BatchHandler,
  type BatchOptions,
  createSubscriber,
  type DeadLetterHandler,
  type EventHandler,
} from '../events/index.ts';
import type { ReadinessCheck, ShutdownHook } from '../http/index.ts';
import { serve } from '../http/serve.ts';
import { recordRefusal } from '../inbox/index.ts';
import { startRelay } from '../outbox/relay.ts';
import { serveReplay } from '../outbox/replay.ts';
import { type Logger, logger, startTelemetry } from '../telemetry/index.ts';

/** The topics `N` consumes, as the contracts' topology says (none without a sidecar). */
export type ConsumedBy<N extends ServiceName> = N extends AppId
  ? (typeof topology)[N]['consumes'][number]
  : never;

/** A topic handled in bulk deliveries (see the subscriber's `onBatch`). */
export type Batched<T extends Topic> = { readonly batch: BatchHandler<T>; readonly options: BatchOptions };

/** Handles `topic` in bulk deliveries of up to `options.maxMessages` events. */
export function inBatches<T extends Topic>(batch: BatchHandler<T>, options: BatchOptions = {}): Batched<T> {
  return { batch, options };
}

export type Consumer<T extends Topic> = EventHandler<T> | Batched<T>;

/**
 * Exactly the topics of `N`: a topic topology lists and the map lacks is a missing property, a key
 * the topology does not list is typed `never` (excess-property checks alone miss it whenever the map
 * is not a fresh object literal).
 */
export type Consumers<N extends ServiceName, C = unknown> = { [T in ConsumedBy<N>]: Consumer<T> } & {
  [K in Exclude<keyof C, ConsumedBy<N>>]: never;
};

/**
 * Consumes each of `topics` with a handler of any of their events (a projection, say), one event or
 * one bulk delivery (`inBatches`) at a time.
 */
export function eachTopic<const Ts extends readonly Topic[]>(
  topics: Ts,
  handlerOf: (topic: Ts[number]) => Consumer<Ts[number]>,
): { [T in Ts[number]]: Consumer<T> } {
  return Object.fromEntries(topics.map((topic) => [topic, handlerOf(topic)])) as {
    [T in Ts[number]]: Consumer<T>;
  };
}

const redisConfigShape = { REDIS_URL: urlFromString(['redis', 'rediss']) };

type Needs<N extends ServiceName> = (typeof deployments)[N];
type PlatformShape<N extends ServiceName> = typeof baseConfigShape &
  (Needs<N>['database'] extends true ? typeof databaseConfigShape : unknown) &
  (Needs<N>['redis'] extends true ? typeof redisConfigShape : unknown);

export type ServiceConfig<N extends ServiceName, Shape extends z.ZodRawShape> = ConfigOf<
  PlatformShape<N> & Shape
>;

/** What the platform has set up for a service when its own parts are built. */
export type ServiceContext<N extends ServiceName, Shape extends z.ZodRawShape, S extends Schema> = {
  config: ServiceConfig<N, Shape>;
  log: Logger;
  /** The checks `/readyz` runs: `db`, `redis`, `dapr` as the service has them. */
  readiness: Record<string, ReadinessCheck>;
  /**
   * Runs `hook` on shutdown, after the workers, the subscriptions and the relay have stopped and
   * before Redis and the database close (hooks run in the reverse order of registration).
   */
  onShutdown(hook: ShutdownHook): void;
  /** Runs `hook` as soon as shutdown starts, before in-flight requests are awaited (ends held streams). */
  onDraining(hook: ShutdownHook): void;
} & (N extends AppId ? { dapr: Dapr } : unknown) &
  (Needs<N>['database'] extends true ? { database: DatabaseHandle<S> } : unknown) &
  (N extends AppId
    ? Needs<N>['database'] extends true
      ? {
          /**
           * A pool of its own for the event handlers and the relay, so a burst of deliveries never
           * takes the connections the HTTP requests need (and the other way round).
           */
          eventsDatabase: DatabaseHandle<S>;
        }
      : unknown
    : unknown) &
  (Needs<N>['redis'] extends true ? { redis: Redis } : unknown);

/**
 * Thrown while a service sets up when what it was configured with cannot work (a malformed key, say):
 * the process stops with one `invalid configuration` line, as for a malformed variable.
 */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** Background work started with the service and stopped first on shutdown. */
export type Worker = { stop(): Promise<unknown> | unknown };

export type DatabaseDeclaration<S extends Schema> = {
  schema: S;
  /** The drizzle-kit migrations folder, e.g. `new URL('../drizzle', import.meta.url)`. */
  migrations: URL;
  /** Pool size. Default 10. */
  poolSize?: number;
  /** Size of the event handlers' and relay's pool (a service with a sidecar). Default 10. */
  eventsPoolSize?: number;
};

export type ServiceDeclaration<
  N extends ServiceName,
  Shape extends z.ZodRawShape,
  S extends Schema,
  D extends object,
  C,
> = {
  name: N;
  /**
   * The service's own variables. SERVICE_NAME, PORT, DAPR_*, LOG_LEVEL… come with the platform, and
   * DATABASE_URL and REDIS_URL where the contracts' deployments say the service needs them.
   */
  config: Shape;
  /** A rule across variables: a message stops the process as a malformed variable would. */
  checkConfig?: (config: ServiceConfig<N, Shape>) => string | undefined;
  /** The service's own parts (stores, clients, caches), built once the platform's are up. */
  setup?: (context: ServiceContext<N, Shape, S>) => D | Promise<D>;
  // biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes.
  app: (context: ServiceContext<N, Shape, S> & D) => OpenAPIHono<any, any, any>;
  /**
   * One handler per topic the topology says this service consumes; each runs in its consumer span.
   * Required of a service with a sidecar; one without has no events.
   */
  consumes?: (context: ServiceContext<N, Shape, S> & D) => C & Consumers<N, C>;
  /** Consumes the dead-letter topic (undefined: not in this configuration). */
  deadLetters?: (context: ServiceContext<N, Shape, S> & D) => DeadLetterHandler | undefined;
  /** Publishes what the service's outbox holds. A function decides by configuration. */
  relay?: boolean | ((config: ServiceConfig<N, Shape>) => boolean);
  workers?: (context: ServiceContext<N, Shape, S> & D) => Worker[];
  /** Fields of the "started" log line, e.g. the settings an operator wants to see. */
  started?: (config: ServiceConfig<N, Shape>) => Record<string, unknown>;
} & (N extends AppId ? { consumes: unknown } : { consumes?: never; deadLetters?: never; relay?: never }) &
  (Needs<N>['database'] extends true ? { database: DatabaseDeclaration<S> } : { database?: never }) &
  (Needs<N>['redis'] extends true ? { redis?: RedisOptions } : { redis?: never });

export type Service = {
  name: ServiceName;
  /** Starts the service, or applies its migrations and exits when `argv` says `migrate`. */
  run(argv?: readonly string[]): Promise<void>;
};

/** A service declaration, checked against the contracts. `runService` runs it. */
export function defineService<
  N extends ServiceName,
  Shape extends z.ZodRawShape,
  S extends Schema,
  D extends object = Record<never, never>,
  C = unknown,
>(declaration: ServiceDeclaration<N, Shape, S, D, C>): Service {
  return { name: declaration.name, run: (argv) => run(declaration as AnyDeclaration, argv) };
}

/**
 * Runs a service from its entry point: `runService(service, import.meta)` starts it (or migrates)
 * only when that module is the one node was asked to run, so importing it starts nothing.
 */
export async function runService(service: Service, entry: ImportMeta): Promise<void> {
  if (!entry.main) return;
  try {
    await service.run(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err: error }, `${service.name} could not start`);
    process.exit(1);
  }
}

// The declaration with its types erased, as the runner handles it.
type AnyContext = ServiceContext<ServiceName, z.ZodRawShape, Schema> & {
  config: Record<string, unknown> & ConfigOf<typeof baseConfigShape>;
  database?: DatabaseHandle<Schema>;
  eventsDatabase?: DatabaseHandle<Schema>;
  redis?: Redis;
};
type AnyDeclaration = {
  name: ServiceName;
  config: z.ZodRawShape;
  checkConfig?: (config: never) => string | undefined;
  database?: DatabaseDeclaration<Schema>;
  redis?: RedisOptions;
  setup?: (context: never) => object | Promise<object>;
  // biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes.
  app: (context: never) => OpenAPIHono<any, any, any>;
  consumes?: (context: never) => Record<string, Consumer<Topic>>;
  deadLetters?: (context: never) => DeadLetterHandler | undefined;
  relay?: boolean | ((config: never) => boolean);
  workers?: (context: never) => Worker[];
  started?: (config: never) => Record<string, unknown>;
};

async function run(declaration: AnyDeclaration, argv: readonly string[] = []): Promise<void> {
  const needs = deployments[declaration.name];
  const [command] = argv;
  if (command === 'migrate') return migrateOnly(declaration);
  if (command !== undefined) throw new Error(`unknown command ${command} (expected none, or migrate)`);

  const shape = {
    ...baseConfigShape,
    ...(needs.database ? databaseConfigShape : {}),
    ...(needs.redis ? redisConfigShape : {}),
    ...declaration.config,
  };
  const misnamed = misnamedDurations(shape);
  if (misnamed.length > 0)
    throw new ConfigurationError(
      `${misnamed.join(', ')}: a duration's name ends in its unit (_MS or _SECONDS), and only a duration's`,
    );
  const config = loadConfig(shape) as AnyContext['config'];
  const invalid = declaration.checkConfig?.(config as never);
  if (invalid) {
    process.stderr.write(`invalid configuration: ${invalid}\n`);
    process.exit(1);
  }

  const { name } = declaration;
  const keys = isAppId(name) ? eventKeys(name, config) : undefined;

  const telemetry = startTelemetry({
    serviceName: config.SERVICE_NAME,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    logLevel: config.LOG_LEVEL,
  });
  // Reverse order of creation: what was built last stops first.
  const closing: ShutdownHook[] = [() => telemetry.shutdown()];
  const readiness: Record<string, ReadinessCheck> = {};
  const draining: ShutdownHook[] = [];

  let database: DatabaseHandle<Schema> | undefined;
  let eventsDatabase: DatabaseHandle<Schema> | undefined;
  if (declaration.database) {
    const url = config.DATABASE_URL as string;
    await migrate(url, fileURLToPath(declaration.database.migrations), {
      applicationName: `${config.SERVICE_NAME}-migrate`,
      waitMs: config.DATABASE_WAIT_MS as number,
    });
    const handle = createDatabase(url, declaration.database.schema, {
      applicationName: config.SERVICE_NAME,
      ...(declaration.database.poolSize ? { max: declaration.database.poolSize } : {}),
    });
    database = handle;
    readiness.db = () => databaseReady(handle.sql);
    closing.unshift(() => handle.close());
    if (keys) {
      const pool = createDatabase(url, declaration.database.schema, {
        applicationName: `${config.SERVICE_NAME}-events`,
        max: declaration.database.eventsPoolSize ?? 10,
      });
      eventsDatabase = pool;
      closing.unshift(() => pool.close());
    }
  }

  let redis: Redis | undefined;
  if (needs.redis) {
    const client = new Redis(config.REDIS_URL as string, declaration.redis ?? {});
    client.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
    redis = client;
    readiness.redis = () => client.ping();
    closing.unshift(() => client.quit());
  }

  const dapr = keys
    ? createDapr({
        host: config.DAPR_HOST,
        httpPort: config.DAPR_HTTP_PORT,
        timeoutMs: config.DAPR_TIMEOUT_MS,
        apiToken: config.DAPR_API_TOKEN,
      })
    : undefined;
  if (dapr) readiness.dapr = () => dapr.ready();

  const platform = {
    config,
    log: logger,
    readiness,
    onShutdown: (hook: ShutdownHook) => closing.unshift(hook),
    onDraining: (hook: ShutdownHook) => draining.push(hook),
    ...(dapr ? { dapr } : {}),
    ...(database ? { database } : {}),
    ...(eventsDatabase ? { eventsDatabase } : {}),
    ...(redis ? { redis } : {}),
  };
  const context = { ...platform, ...((await declaration.setup?.(platform as never)) ?? {}) } as never;

  const app = declaration.app(context);
  const events =
    dapr && keys && isAppId(name)
      ? eventParts(name, declaration, context, { app, config, dapr, keys, database: eventsDatabase })
      : undefined;
  const workers = declaration.workers?.(context) ?? [];

  serve(app, {
    port: config.PORT,
    host: config.HOST,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    onDraining: draining,
    onShutdown: [...workers.map((worker) => () => worker.stop()), ...(events?.stopping ?? []), ...closing],
  });
  logger.info(
    {
      ...(events ? { subscriptions: events.subscriptions, relay: events.relay } : { sidecar: false }),
      workers: workers.length,
      ...declaration.started?.(config as never),
    },
    `${name} started`,
  );
}

/**
 * What a service with a sidecar adds to its app: the subscriptions (each handler in the inbox and its
 * consumer span), the dead-letter handler, and the relay with the owner's side of dead-letter
 * replay. `stopping` stops consuming first, then the relay.
 */
function eventParts(
  name: AppId,
  declaration: AnyDeclaration,
  context: never,
  parts: {
    // biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes.
    app: OpenAPIHono<any, any, any>;
    config: AnyContext['config'];
    dapr: Dapr;
    keys: ReturnType<typeof eventKeys>;
    database: DatabaseHandle<Schema> | undefined;
  },
): { stopping: ShutdownHook[]; subscriptions: string[]; relay: boolean } {
  const { app, config, dapr, keys, database } = parts;
  const subscriber = createSubscriber(app, {
    pubsubName: config.PUBSUB_NAME,
    consumer: config.SERVICE_NAME,
    trustedKeys: keys.trusted,
    ...(database ? { recordRefusal: (refusal) => recordRefusal(database.db, refusal) } : {}),
  });
  for (const [topic, consumer] of Object.entries(declaration.consumes?.(context) ?? {})) {
    if ('batch' in consumer) subscriber.onBatch(topic as Topic, consumer.batch, consumer.options);
    else subscriber.on(topic as Topic, consumer);
  }
  const deadLetters = declaration.deadLetters?.(context);
  if (deadLetters) {
    // The pub/sub scopes let only the contracts' dead-letter readers subscribe to that topic.
    if (!readsDeadLetters(name))
      throw new Error(`${name} handles dead letters but is not among the contracts' deadLetterReaders`);
    subscriber.onDeadLetter(deadLetters);
  }

  const stopping: ShutdownHook[] = [() => subscriber.drain()];
  const relay =
    typeof declaration.relay === 'function' ? declaration.relay(config as never) : declaration.relay;
  if (relay) {
    if (!database) throw new Error(`${name}: a relay needs the service's database`);
    const running = startRelay({
      sql: database.sql,
      dapr,
      pubsubName: config.PUBSUB_NAME,
      ...(keys.signing ? { signer: { appId: name, key: keys.signing } } : {}),
    });
    stopping.push(() => running.stop());
    // Dead-letter replay: only a topic's owner publishes it, so query asks the owner to, from its outbox.
    const owns = topology[name].publishes;
    if (owns.length > 0) serveReplay(app, { db: database.db, owns });
  }
  return { stopping, subscriptions: subscriber.subscriptions().map((s) => s.topic), relay: Boolean(relay) };
}

/**
 * The service's signing key and the keys it trusts, as its place in the topology needs them: a
 * publisher must sign, a consumer must know the key of every owner of a topic it consumes.
 */
function eventKeys(
  name: AppId,
  config: { EVENT_SIGNING_KEY?: string | undefined; EVENT_TRUSTED_KEYS?: string | undefined },
): { signing: SigningKey | undefined; trusted: TrustedKeys } {
  const { publishes } = topology[name];
  let signing: SigningKey | undefined;
  let trusted: TrustedKeys = new Map();
  try {
    if (config.EVENT_SIGNING_KEY) signing = signingKeyFrom(config.EVENT_SIGNING_KEY);
    if (config.EVENT_TRUSTED_KEYS) trusted = trustedKeysFrom(config.EVENT_TRUSTED_KEYS);
  } catch (error) {
    throw new ConfigurationError(`EVENT_SIGNING_KEY/EVENT_TRUSTED_KEYS: ${(error as Error).message}`);
  }
  if (publishes.length > 0 && !signing)
    throw new ConfigurationError(`EVENT_SIGNING_KEY is required: ${name} publishes ${publishes.join(', ')}`);
  const missing = trustedOwnersOf(name).filter((owner) => !trusted.has(owner));
  if (missing.length > 0)
    throw new ConfigurationError(
      `EVENT_TRUSTED_KEYS lacks the key of ${missing.join(', ')}, whose events ${name} reads`,
    );
  return { signing, trusted };
}

/** Applies the migrations and returns: the image's migrate command. Needs DATABASE_URL only. */
async function migrateOnly(declaration: AnyDeclaration): Promise<void> {
  if (!declaration.database) throw new Error(`${declaration.name} has no database to migrate`);
  const parsed = parseConfig(databaseConfigShape);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.message}\n`);
    process.exit(1);
  }
  await migrate(parsed.config.DATABASE_URL, fileURLToPath(declaration.database.migrations), {
    applicationName: `${declaration.name}-migrate`,
    waitMs: parsed.config.DATABASE_WAIT_MS,
  });
}

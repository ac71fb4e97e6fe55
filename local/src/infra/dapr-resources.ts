// The Dapr resources of a local run, rendered as YAML files into the run's resources directory: the
// same building blocks the Helm chart declares on Kubernetes, pointed at the local servers.
import {
  type AppId,
  appIds,
  callersOf,
  isAppId,
  protectedTopics,
  publishableBy,
  streamingApps,
  subscribableBy,
} from '@reservex/contracts';
import { stringify } from 'yaml';

export const COMPONENTS = { pubsub: 'pubsub', statestore: 'statestore', lockstore: 'lockstore' } as const;
export const CONFIGURATION_NAME = 'reservex';

/** Kafka protocol version sarama speaks; Kafka 4 rejects the pre-2.1 protocols of sarama's default. */
export const KAFKA_PROTOCOL_VERSION = '4.1.0';
/** Largest event the bus takes (the broker's default message size). */
export const MAX_MESSAGE_BYTES = 1_048_588;

export interface ResourceTargets {
  kafkaBrokers: string;
  /** host:port of Redis. */
  redisHost: string;
  /** host:port of the OTLP/gRPC receiver (Jaeger). */
  otlpGrpcEndpoint: string;
  /** SQLite file every sidecar of the run registers in, for service invocation. */
  nameResolutionDb: string;
}

export interface DaprResource {
  apiVersion: string;
  kind: 'Component' | 'Configuration' | 'Resiliency';
  metadata: { name: string };
  spec: Record<string, unknown>;
}

function component(name: string, type: string, metadata: Record<string, string>): DaprResource {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec: {
      type,
      version: 'v1',
      metadata: Object.entries(metadata).map(([key, value]) => ({ name: key, value })),
    },
  };
}

export interface ComponentOptions {
  /** `false` leaves the topic scopes out, for apps that are not ReserveX services (test apps). */
  scoped?: boolean;
  /** The Kafka consumer group, `{appID}` filled in by each sidecar; the app id alone when omitted. */
  consumerGroup?: string;
}

/**
 * The components; without scopes for apps that are not ReserveX services (the platform's own test
 * apps publish contract topics under their own app ids).
 */
export function components(targets: ResourceTargets, options: ComponentOptions = {}): DaprResource[] {
  return [
    component(COMPONENTS.pubsub, 'pubsub.kafka', {
      brokers: targets.kafkaBrokers,
      authType: 'none',
      version: KAFKA_PROTOCOL_VERSION,
      maxMessageBytes: String(MAX_MESSAGE_BYTES),
      // A consumer group that starts after events were published must still see them.
      initialOffset: 'oldest',
      // One group per service: the app id unless the stack names its own (consumer-groups.ts).
      ...(options.consumerGroup ? { consumerGroup: options.consumerGroup } : {}),
      // A sidecar killed without leaving its group holds its partitions until the session times
      // out: the broker's minimum, so a restarted one takes over in seconds.
      sessionTimeout: '6s',
      heartbeatInterval: '2s',
      ...(options.scoped === false ? {} : topicScopes()),
    }),
    component(COMPONENTS.statestore, 'state.redis', {
      redisHost: targets.redisHost,
      redisPassword: '',
      // Each service's state (Idempotency-Key replies, pass tokens, caches) is its own: keys are
      // prefixed with the app id, so two services can use the same key without colliding.
      keyPrefix: 'appid',
    }),
    component(COMPONENTS.lockstore, 'lock.redis', {
      redisHost: targets.redisHost,
      redisPassword: '',
      // A lock is shared by the replicas of one service (one admitter per show, one sweeper), never
      // across services: prefixing with the app id keeps two services' resource ids apart.
      keyPrefix: 'appid',
    }),
  ];
}

/**
 * Who may publish and subscribe to what, from the contracts' topology: each service its own topics
 * (and the dead-letter topic if it consumes), every topic protected so that an app missing from the
 * scopes may publish none of them. Dapr's format: `app=topic,topic;app=`.
 */
export function topicScopes(): {
  publishingScopes: string;
  subscriptionScopes: string;
  protectedTopics: string;
} {
  const scope = (topicsOf: (app: AppId) => string[]) =>
    appIds.map((app) => `${app}=${topicsOf(app).join(',')}`).join(';');
  return {
    publishingScopes: scope(publishableBy),
    subscriptionScopes: scope(subscribableBy),
    protectedTopics: protectedTopics().join(','),
  };
}

/** Where the sidecars' identities come from: the namespace and trust domain in their SPIFFE ids. */
export const IDENTITY = { namespace: 'default', trustDomain: 'public' } as const;

/**
 * Dapr access control for one app's sidecar, from the contracts' invocation table: deny by default,
 * allow each caller exactly its listed operations (a verb list per path).
 */
export function accessControl(
  callee: AppId,
  identity: { namespace: string; trustDomain: string } = IDENTITY,
) {
  return {
    defaultAction: 'deny',
    trustDomain: identity.trustDomain,
    policies: callersOf(callee).map(({ caller, operations }) => ({
      appId: caller,
      defaultAction: 'deny',
      trustDomain: identity.trustDomain,
      namespace: identity.namespace,
      operations: operations.map((o) => ({ ...o, action: 'allow' })),
    })),
  };
}

/** The configuration of one sidecar: the shared one, plus the app's access control when it is ours. */
export function configuration(targets: ResourceTargets, appId?: string): DaprResource {
  const ours = isAppId(appId ?? '');
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: CONFIGURATION_NAME },
    spec: {
      ...(ours ? { accessControl: accessControl(appId as AppId) } : {}),
      tracing: {
        // Every request traced: the CloudEvent traceparent is only filled in when sampling is on.
        samplingRate: '1',
        otel: { endpointAddress: targets.otlpGrpcEndpoint, isSecure: false, protocol: 'grpc' },
      },
      nameResolution: {
        component: 'sqlite',
        version: 'v1',
        // Every sidecar of a run starts at about the same moment and opens, migrates and registers in
        // the same file: the resolver's default wait for a lock (800 ms) is too short for that on a
        // busy machine, and a sidecar that gives up stays unresolvable.
        configuration: {
          connectionString: targets.nameResolutionDb,
          updateInterval: '2s',
          busyTimeout: '10s',
        },
      },
      metric: { enabled: true, http: { increasedCardinality: false } },
    },
  };
}

export const RESILIENCY = {
  /**
   * Delivery retries before a message is dead-lettered: together about 25 s, longer than an app or
   * its sidecar takes to come back after a crash (the sidecar delivers to an app that was just killed,
   * or that is paused, before its health check notices), yet short enough for tests to see it.
   */
  pubsubRetries: 24,
  pubsubRetryInterval: '1s',
  /**
   * How long one delivery may take before it counts as failed and is retried: above the slowest
   * handler (payment waits up to its provider timeout), so only a frozen app reaches it.
   */
  deliveryTimeout: '30s',
  invokeTimeout: '5s',
  /** Invocation of a service that streams (SSE): longer than its longest stream (queue: 10 min). */
  streamTimeout: '15m',
} as const;

/** Delivery retries of a stack: the policy's by default; a test of the dead-letter path may shorten it. */
export interface DeliveryRetry {
  maxRetries: number;
  interval: string;
}

/**
 * Retries for event delivery (then the dead-letter topic), and for service invocation a timeout, a
 * retry on "not reachable" answers only (a POST that reached the app is never repeated); a circuit
 * breaker on publishing only.
 */
export function resiliency(
  invokedApps: readonly string[] = appIds,
  deliveryRetry: DeliveryRetry = {
    maxRetries: RESILIENCY.pubsubRetries,
    interval: RESILIENCY.pubsubRetryInterval,
  },
): DaprResource {
  // No circuit breaker on apps: Dapr counts every non-2xx answer as a failure, so a burst of
  // 401/422/429 business answers would cut a healthy service off for every caller.
  const appPolicy = (app: string) => ({
    timeout: (streamingApps as readonly string[]).includes(app) ? 'streamTimeout' : 'invokeTimeout',
    retry: 'invokeUnreachable',
  });
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Resiliency',
    metadata: { name: CONFIGURATION_NAME },
    spec: {
      policies: {
        timeouts: {
          invokeTimeout: RESILIENCY.invokeTimeout,
          streamTimeout: RESILIENCY.streamTimeout,
          publishTimeout: '5s',
          deliveryTimeout: RESILIENCY.deliveryTimeout,
        },
        retries: {
          deliveryRetry: {
            policy: 'constant',
            duration: deliveryRetry.interval,
            maxRetries: deliveryRetry.maxRetries,
          },
          publishRetry: { policy: 'exponential', maxInterval: '2s', maxRetries: 3 },
          invokeUnreachable: {
            policy: 'constant',
            duration: '250ms',
            maxRetries: 2,
            matching: { httpStatusCodes: '502,503', gRPCStatusCodes: '14' },
          },
        },
        circuitBreakers: {
          publishBreaker: {
            maxRequests: 1,
            interval: '10s',
            timeout: '5s',
            trip: 'consecutiveFailures >= 5',
          },
        },
      },
      targets: {
        apps: Object.fromEntries(invokedApps.map((app) => [app, appPolicy(app)])),
        components: {
          [COMPONENTS.pubsub]: {
            inbound: { retry: 'deliveryRetry', timeout: 'deliveryTimeout' },
            outbound: { retry: 'publishRetry', timeout: 'publishTimeout', circuitBreaker: 'publishBreaker' },
          },
        },
      },
    },
  };
}

export function renderResource(resource: DaprResource): string {
  return stringify(resource, { lineWidth: 0 });
}

/**
 * File name → YAML for the resources directory (components + resiliency; without topic scopes for
 * apps that are not ours), the configuration of an app that is not one of ours (test apps), and one
 * configuration per service (its access control).
 */
export function renderAll(
  targets: ResourceTargets,
  options: Pick<ComponentOptions, 'consumerGroup'> & { deliveryRetry?: DeliveryRetry } = {},
): {
  resources: Record<string, string>;
  unscopedResources: Record<string, string>;
  configuration: string;
  configurations: Record<AppId, string>;
} {
  const render = (list: DaprResource[]) =>
    Object.fromEntries(
      list.map((resource) => [
        `${resource.kind.toLowerCase()}-${resource.metadata.name}.yaml`,
        renderResource(resource),
      ]),
    );
  const policy = resiliency(appIds, options.deliveryRetry);
  const resources = render([...components(targets, options), policy]);
  const unscopedResources = render([...components(targets, { ...options, scoped: false }), policy]);
  const configurations = Object.fromEntries(
    appIds.map((app) => [app, renderResource(configuration(targets, app))]),
  ) as Record<AppId, string>;
  return {
    resources,
    unscopedResources,
    configuration: renderResource(configuration(targets)),
    configurations,
  };
}

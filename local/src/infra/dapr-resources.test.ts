import {
  allowedCalls,
  appIds,
  DEAD_LETTER_TOPIC,
  protectedTopics,
  streamingApps,
  topics,
  topology,
} from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  COMPONENTS,
  components,
  configuration,
  type DaprResource,
  KAFKA_PROTOCOL_VERSION,
  RESILIENCY,
  renderAll,
  resiliency,
  topicScopes,
} from './dapr-resources.ts';

const targets = {
  kafkaBrokers: '127.0.0.1:29092',
  redisHost: '127.0.0.1:26379',
  otlpGrpcEndpoint: '127.0.0.1:24317',
  nameResolutionDb: '/tmp/run/dapr/name-resolution.db',
};

function metadataOf(resource: DaprResource | undefined): Record<string, string> {
  const entries = (resource?.spec.metadata ?? []) as { name: string; value: string }[];
  return Object.fromEntries(entries.map((e) => [e.name, e.value]));
}

describe('components', () => {
  const byName = Object.fromEntries(components(targets).map((c) => [c.metadata.name, c]));

  it('declares pubsub, statestore and lockstore with the types the platform expects', () => {
    expect(Object.keys(byName).sort()).toEqual(Object.values(COMPONENTS).sort());
    expect(byName.pubsub?.spec.type).toBe('pubsub.kafka');
    expect(byName.statestore?.spec.type).toBe('state.redis');
    expect(byName.lockstore?.spec.type).toBe('lock.redis');
  });

  it('speaks a Kafka protocol Kafka 4 accepts, reads new groups from the start, one group per app', () => {
    const pubsub = metadataOf(byName.pubsub);
    expect(pubsub.brokers).toBe(targets.kafkaBrokers);
    expect(pubsub.version).toBe(KAFKA_PROTOCOL_VERSION);
    expect(Number(pubsub.version?.split('.')[0])).toBeGreaterThanOrEqual(3);
    expect(pubsub.initialOffset).toBe('oldest');
    expect(Number(pubsub.maxMessageBytes)).toBeGreaterThan(0);
    expect(pubsub).not.toHaveProperty('consumerGroup');
  });

  it('names the consumer group a stack gives it, the same in the unscoped components', () => {
    for (const scoped of [true, false]) {
      const pubsub = components(targets, { scoped, consumerGroup: '{appID}.apps-1' }).find(
        (c) => c.metadata.name === COMPONENTS.pubsub,
      );
      expect(metadataOf(pubsub).consumerGroup).toBe('{appID}.apps-1');
    }
  });

  it('keeps each service’s state and locks apart by app id', () => {
    expect(metadataOf(byName.statestore)).toMatchObject({ redisHost: targets.redisHost, keyPrefix: 'appid' });
    expect(metadataOf(byName.lockstore)).toMatchObject({ redisHost: targets.redisHost, keyPrefix: 'appid' });
  });
});

describe('configuration', () => {
  it('traces every request to the OTLP endpoint and resolves names through the shared sqlite file', () => {
    const spec = configuration(targets).spec as {
      tracing: { samplingRate: string; otel: { endpointAddress: string; protocol: string } };
      nameResolution: { component: string; configuration: { connectionString: string } };
    };
    expect(spec.tracing.samplingRate).toBe('1');
    expect(spec.tracing.otel).toMatchObject({ endpointAddress: targets.otlpGrpcEndpoint, protocol: 'grpc' });
    expect(spec.nameResolution.component).toBe('sqlite');
    expect(spec.nameResolution.configuration.connectionString).toBe(targets.nameResolutionDb);
  });
});

describe('resiliency', () => {
  const spec = resiliency().spec as {
    policies: { retries: Record<string, { policy: string; duration?: string; maxRetries: number }> };
    targets: { apps: Record<string, unknown>; components: Record<string, { inbound: { retry: string } }> };
  };

  it('retries a delivery with a constant back-off for longer than a killed app takes to return, then dead-letters it', () => {
    const retry = spec.policies.retries[spec.targets.components.pubsub?.inbound.retry ?? ''];
    expect(retry).toEqual({
      policy: 'constant',
      duration: RESILIENCY.pubsubRetryInterval,
      maxRetries: RESILIENCY.pubsubRetries,
    });
    // A delivery to an app killed a moment ago fails at once, every time, until it is back: the
    // retries must span its restart (seconds) before the message is given up on.
    const seconds = (duration: string) => Number.parseFloat(duration) * (duration.endsWith('ms') ? 0.001 : 1);
    const patience = RESILIENCY.pubsubRetries * seconds(RESILIENCY.pubsubRetryInterval);
    expect(patience).toBeGreaterThanOrEqual(20);
    expect(patience).toBeLessThanOrEqual(40);
  });

  it("takes a stack's own delivery retries (a test of the dead-letter path), the rest of the policy unchanged", () => {
    const shortened = resiliency(appIds, { maxRetries: 4, interval: '500ms' }).spec as typeof spec;
    expect(shortened.policies.retries.deliveryRetry).toEqual({
      policy: 'constant',
      duration: '500ms',
      maxRetries: 4,
    });
    const { deliveryRetry: _, ...others } = shortened.policies.retries;
    const { deliveryRetry: __, ...defaults } = spec.policies.retries;
    expect(others).toEqual(defaults);
    expect(shortened.targets).toEqual(spec.targets);
  });

  it('bounds one delivery, above the slowest handler, so a frozen app is retried rather than waited on', () => {
    const inbound = spec.targets.components.pubsub?.inbound as { timeout?: string };
    expect(inbound.timeout).toBe('deliveryTimeout');
    expect((spec.policies as unknown as { timeouts: Record<string, string> }).timeouts.deliveryTimeout).toBe(
      RESILIENCY.deliveryTimeout,
    );
  });

  it('puts a timeout on invocation of every service, and no breaker that 4xx answers could trip', () => {
    expect(Object.keys(spec.targets.apps).sort()).toEqual([...appIds].sort());
    for (const policy of Object.values(spec.targets.apps)) {
      expect(policy).toMatchObject({ timeout: expect.any(String), retry: 'invokeUnreachable' });
      expect(policy).not.toHaveProperty('circuitBreaker');
    }
    expect(spec.targets.components).toMatchObject({
      pubsub: { outbound: { circuitBreaker: 'publishBreaker' } },
    });
  });

  it('lets the services that stream (SSE) answer for longer than an ordinary call', () => {
    const timeouts = (resiliency().spec as { policies: { timeouts: Record<string, string> } }).policies
      .timeouts;
    const apps = spec.targets.apps as Record<string, { timeout: string }>;
    for (const app of appIds) {
      expect(apps[app]?.timeout, app).toBe(
        (streamingApps as readonly string[]).includes(app) ? 'streamTimeout' : 'invokeTimeout',
      );
    }
    expect(timeouts.streamTimeout).toBe('15m');
    expect(timeouts.invokeTimeout).toBe(RESILIENCY.invokeTimeout);
  });
});

describe('renderAll', () => {
  it('writes YAML that reads back as the same resources', () => {
    const rendered = renderAll(targets);
    expect(Object.keys(rendered.resources).sort()).toEqual([
      'component-lockstore.yaml',
      'component-pubsub.yaml',
      'component-statestore.yaml',
      'resiliency-reservex.yaml',
    ]);
    expect(parse(rendered.resources['component-pubsub.yaml'] ?? '')).toEqual(
      components(targets).find((c) => c.metadata.name === 'pubsub'),
    );
    expect(parse(rendered.configuration)).toEqual(configuration(targets));
  });
});

/** `app=t1,t2;app2=` → app → topics. */
function parseScopes(value: string): Record<string, string[]> {
  return Object.fromEntries(
    value.split(';').map((entry) => {
      const [app, list] = entry.split('=');
      return [app, list ? list.split(',') : []];
    }),
  );
}

describe('topic scopes', () => {
  const pubsub = metadataOf(components(targets).find((c) => c.metadata.name === 'pubsub'));

  it('equal the topology both ways: each app publishes exactly its topics, subscribes exactly its consumed ones', () => {
    const publishing = parseScopes(pubsub.publishingScopes ?? '');
    const subscribing = parseScopes(pubsub.subscriptionScopes ?? '');
    expect(Object.keys(publishing).sort()).toEqual([...appIds].sort());
    for (const app of appIds) {
      const consumes = topology[app].consumes as readonly string[];
      const expected = [...topology[app].publishes, ...(consumes.length > 0 ? [DEAD_LETTER_TOPIC] : [])];
      expect(publishing[app]?.sort(), app).toEqual(expected.sort());
      const reads = [...consumes, ...(app === 'query' || app === 'reservation' ? [DEAD_LETTER_TOPIC] : [])];
      expect(subscribing[app]?.sort(), app).toEqual(reads.sort());
    }
    // …and from the topics' side: every topic's publishers are exactly its topology owner.
    for (const topic of topics) {
      const publishers = Object.entries(publishing).filter(([, list]) => list.includes(topic));
      expect(publishers.map(([app]) => app)).toEqual(
        appIds.filter((app) => (topology[app].publishes as readonly string[]).includes(topic)),
      );
    }
  });

  it('protects every topic, so an app missing from the scopes can publish none', () => {
    expect(pubsub.protectedTopics?.split(',').sort()).toEqual([...topics, DEAD_LETTER_TOPIC].sort());
    expect(pubsub.protectedTopics).toBe(protectedTopics().join(','));
    expect(pubsub).toMatchObject(topicScopes());
  });

  it('leaves the scopes out for apps that are not ours', () => {
    const unscoped = metadataOf(
      components(targets, { scoped: false }).find((c) => c.metadata.name === 'pubsub'),
    );
    expect(unscoped).not.toHaveProperty('publishingScopes');
    expect(unscoped).not.toHaveProperty('protectedTopics');
  });
});

describe('access control', () => {
  type Policy = {
    appId: string;
    defaultAction: string;
    namespace: string;
    operations: { name: string; httpVerb: string[]; action: string }[];
  };
  const aclOf = (app: string) =>
    (configuration(targets, app).spec as { accessControl?: { defaultAction: string; policies: Policy[] } })
      .accessControl;

  it('denies by default on every service and allows exactly the invocation table', () => {
    for (const callee of appIds) {
      const acl = aclOf(callee);
      expect(acl?.defaultAction, callee).toBe('deny');
      const allowed = (acl?.policies ?? []).flatMap((p) => {
        expect(p.defaultAction).toBe('deny');
        return p.operations.flatMap((o) => {
          expect(o.action).toBe('allow');
          return o.httpVerb.map((verb) => `${p.appId} ${verb} ${o.name}`);
        });
      });
      expect(allowed.sort(), callee).toEqual(allowedCalls(callee));
    }
  });

  it('lets nobody invoke the gateway, and only the gateway reach user routes', () => {
    expect(aclOf('gateway')?.policies).toEqual([]);
    expect(aclOf('account')?.policies.map((p) => p.appId)).toEqual(['gateway']);
  });

  it('gives apps that are not ours no access control of their own', () => {
    expect(aclOf('probe')).toBeUndefined();
  });
});

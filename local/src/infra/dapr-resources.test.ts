import { appIds, streamingApps } from '@reservex/contracts';
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

  it('retries a delivery a few times with a short constant back-off before it is dead-lettered', () => {
    const retry = spec.policies.retries[spec.targets.components.pubsub?.inbound.retry ?? ''];
    expect(retry).toEqual({
      policy: 'constant',
      duration: RESILIENCY.pubsubRetryInterval,
      maxRetries: RESILIENCY.pubsubRetries,
    });
    expect(RESILIENCY.pubsubRetries).toBeGreaterThan(0);
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

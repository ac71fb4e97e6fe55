import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppId, appIds } from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { appEnv, sidecarArgs } from './apps.ts';
import type { InfraInfo } from './infra/index.ts';
import { presentServices, serviceApp, services } from './services.ts';

const infra: InfraInfo = {
  runDir: '/tmp/run',
  postgres: {
    host: '127.0.0.1',
    port: 25432,
    user: 'reservex',
    url: 'postgres://reservex@127.0.0.1:25432/postgres',
  },
  redis: { host: '127.0.0.1', port: 26379, url: 'redis://127.0.0.1:26379' },
  kafka: { brokers: '127.0.0.1:29092', port: 29092 },
  jaeger: {
    otlpHttpUrl: 'http://127.0.0.1:24318',
    otlpGrpcEndpoint: '127.0.0.1:24317',
    uiUrl: 'http://127.0.0.1:26686',
  },
  dapr: {
    daprd: '/cache/daprd',
    targets: {
      kafkaBrokers: '127.0.0.1:29092',
      redisHost: '127.0.0.1:26379',
      otlpGrpcEndpoint: '127.0.0.1:24317',
      nameResolutionDb: '/tmp/run/dapr/name-resolution.db',
    },
    resourcesDir: '/tmp/run/dapr/resources',
    unscopedResourcesDir: '/tmp/run/dapr/resources-unscoped',
    configFile: '/tmp/run/dapr/configuration.yaml',
    configFiles: Object.fromEntries(
      appIds.map((id) => [id, `/tmp/run/dapr/configuration-${id}.yaml`]),
    ) as Record<AppId, string>,
    components: { pubsub: 'pubsub', statestore: 'statestore', lockstore: 'lockstore' },
    sentry: {
      address: '127.0.0.1:25000',
      trustAnchors: '-----BEGIN CERTIFICATE-----',
      tokenKeyFile: '/tmp/run/sentry/token-signing-key.pem',
      tokensDir: '/tmp/run/sentry/tokens',
    },
  },
};
const ports = { app: 21000, daprHttp: 21001, daprGrpc: 21002, daprInternalGrpc: 21003, metrics: 21004 };

describe('service registry', () => {
  it('lists every service of the contracts, each started from its own main.ts', () => {
    expect(Object.keys(services).sort()).toEqual([...appIds].sort());
    for (const id of appIds) expect(services[id].main).toBe(`services/${id}/src/main.ts`);
  });

  it('gives a database to the services that own data, Redis only to queue and gateway', () => {
    const withDb = appIds.filter((id) => services[id].database);
    expect(withDb.sort()).toEqual([
      'account',
      'inventory',
      'payment',
      'query',
      'queue',
      'reservation',
      'ticket',
    ]);
    expect(appIds.filter((id) => services[id].redis).sort()).toEqual(['gateway', 'queue']);
    expect(serviceApp(services.payment).database).toBe('payment');
    expect(serviceApp(services.gateway).database).toBeUndefined();
  });

  it('gives the waiting room and the reservation service the same pass-token key', () => {
    const secret = services.queue.env.PASS_TOKEN_SECRET;
    expect(secret?.length).toBeGreaterThanOrEqual(32);
    expect(services.reservation.env.PASS_TOKEN_SECRET).toBe(secret);
  });

  it('starts only the services whose entry point exists', () => {
    const root = mkdtempSync(join(tmpdir(), 'registry-'));
    mkdirSync(join(root, 'services/ticket/src'), { recursive: true });
    writeFileSync(join(root, 'services/ticket/src/main.ts'), '');
    expect(presentServices(root).map((s) => s.appId)).toEqual(['ticket']);
  });
});

describe('app environment', () => {
  it('tells a service where its sidecar, database, Redis and trace collector are', () => {
    const env = appEnv(infra, serviceApp(services.queue), ports, 'postgres://reservex@127.0.0.1:25432/queue');
    expect(env).toMatchObject({
      SERVICE_NAME: 'queue',
      PORT: '21000',
      HOST: '127.0.0.1',
      DAPR_HOST: '127.0.0.1',
      DAPR_HTTP_PORT: '21001',
      DAPR_GRPC_PORT: '21002',
      DATABASE_URL: 'postgres://reservex@127.0.0.1:25432/queue',
      REDIS_URL: infra.redis.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: infra.jaeger.otlpHttpUrl,
      LOG_LEVEL: 'info',
    });
    expect(appEnv(infra, serviceApp(services.payment), ports)).not.toHaveProperty('REDIS_URL');
  });

  it('gives every app its own Dapr API token, and the app API token to the services behind the gateway', () => {
    const queue = appEnv(infra, serviceApp(services.queue), ports);
    const payment = appEnv(infra, serviceApp(services.payment), ports);
    expect(queue.DAPR_API_TOKEN?.length).toBeGreaterThanOrEqual(32);
    expect(queue.APP_API_TOKEN?.length).toBeGreaterThanOrEqual(32);
    expect(payment.DAPR_API_TOKEN).not.toBe(queue.DAPR_API_TOKEN);
    expect(payment.APP_API_TOKEN).not.toBe(queue.APP_API_TOKEN);
    // The gateway's port is the public entry; test apps are called directly by their tests.
    expect(appEnv(infra, serviceApp(services.gateway), ports)).not.toHaveProperty('APP_API_TOKEN');
    expect(appEnv(infra, { appId: 'probe', args: [] }, ports)).not.toHaveProperty('APP_API_TOKEN');
  });

  it('lets an app override the common environment', () => {
    const env = appEnv(infra, { appId: 'probe', args: [], env: { LOG_LEVEL: 'debug' } }, ports);
    expect(env.LOG_LEVEL).toBe('debug');
  });
});

describe('sidecar command line', () => {
  const args = sidecarArgs(infra, 'payment', ports, '/healthz');
  const flag = (name: string) => args[args.indexOf(name) + 1];

  it('gives each sidecar its own ports and the run’s resources', () => {
    expect(flag('--app-id')).toBe('payment');
    expect(flag('--app-port')).toBe('21000');
    expect(flag('--dapr-http-port')).toBe('21001');
    expect(flag('--dapr-grpc-port')).toBe('21002');
    expect(flag('--dapr-internal-grpc-port')).toBe('21003');
    expect(flag('--metrics-port')).toBe('21004');
    expect(flag('--resources-path')).toBe(infra.dapr.resourcesDir);
    expect(flag('--config')).toBe(infra.dapr.configFiles.payment);
    expect(flag('--dapr-listen-addresses')).toBe('127.0.0.1');
  });

  it('speaks mTLS with identities from the run’s sentry', () => {
    expect(args).toContain('--enable-mtls');
    expect(flag('--sentry-address')).toBe(infra.dapr.sentry.address);
  });

  it('gives an app that is not a service the shared configuration and unscoped components', () => {
    const probe = sidecarArgs(infra, 'probe', ports, '/healthz');
    expect(probe[probe.indexOf('--config') + 1]).toBe(infra.dapr.configFile);
    expect(probe[probe.indexOf('--resources-path') + 1]).toBe(infra.dapr.unscopedResourcesDir);
  });

  it('needs no placement or scheduler service', () => {
    expect(args.join(' ')).not.toMatch(/placement|scheduler/);
  });
});

// Wiring only: config → telemetry → Redis, JWKS, forwarder → app → listen.
import {
  baseConfigShape,
  durationFromString,
  intFromString,
  loadConfig,
  urlFromString,
} from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { serve } from '@reservex/platform/http';
import { logger, startTelemetry } from '@reservex/platform/telemetry';
import { Redis } from 'ioredis';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { createGatewayApp } from './app.ts';
import { createAccessTokenVerifier } from './auth/access-tokens.ts';
import { daprRevokedTokens } from './auth/revoked-tokens.ts';
import { publicRoutes } from './domain/routes.ts';
import { mergePublicDocument, type OpenApiDocument } from './openapi/public-document.ts';
import { createForwarder } from './proxy/forward.ts';
import { createRateLimiter } from './proxy/rate-limiter.ts';

const positive = z.coerce.number().positive();
const config = loadConfig({
  ...baseConfigShape,
  REDIS_URL: urlFromString(['redis', 'rediss']),
  JWT_ISSUER: z.string().trim().min(1).default('reservex-account'),
  JWT_AUDIENCE: z.string().trim().min(1).default('reservex'),
  ACCOUNT_APP_ID: z.string().trim().min(1).default('account'),
  JWKS_MAX_AGE: durationFromString().default(300_000),
  JWKS_REFETCH_COOLDOWN: durationFromString().default(10_000),
  UPSTREAM_TIMEOUT: durationFromString().default(10_000),
  RATE_LIMIT_ADDRESS_PER_SECOND: positive.default(50),
  RATE_LIMIT_ADDRESS_BURST: positive.default(100),
  RATE_LIMIT_USER_PER_SECOND: positive.default(10),
  RATE_LIMIT_USER_BURST: positive.default(30),
  // Origins whose pages may call the API from a browser, comma-separated; `*` for any (only the local
  // stack's default); empty: no cross-origin calls.
  CORS_ORIGINS: z
    .string()
    .trim()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.union([
          z.literal('*'),
          z.string().regex(/^https?:\/\/[^/\s,]+$/, 'origins such as https://tickets.example.com, or *'),
        ]),
      ),
    ),
  TRUSTED_PROXY_HOPS: intFromString({ min: 0, max: 10 }).default(0),
});

const telemetry = startTelemetry({
  serviceName: config.SERVICE_NAME,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logLevel: config.LOG_LEVEL,
});

const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});
const redis = new Redis(config.REDIS_URL, {
  maxRetriesPerRequest: 1,
  commandTimeout: 500,
  enableOfflineQueue: false,
});
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));

const verifyToken = createAccessTokenVerifier({
  fetchJwks: async () => {
    const response = await dapr.invoke<JSONWebKeySet>(config.ACCOUNT_APP_ID, '.well-known/jwks.json');
    if (response.status !== 200) throw new Error(`${config.ACCOUNT_APP_ID} answered ${response.status}`);
    return response.body;
  },
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  maxAgeMs: config.JWKS_MAX_AGE,
  cooldownMs: config.JWKS_REFETCH_COOLDOWN,
});

const takeToken = createRateLimiter(redis, {
  prefix: 'rx:gateway:rl:',
  onError: (error) => logger.warn({ err: error }, 'rate limiter unavailable; request let through'),
});

// The services' documents change only with a deployment: keep each one a minute.
const documents = new Map<string, { document: OpenApiDocument; fetchedAt: number }>();
async function publicDocument() {
  const apps = [...new Set(publicRoutes.map((route) => route.app))];
  await Promise.all(
    apps.map(async (app) => {
      const cached = documents.get(app);
      if (cached && Date.now() - cached.fetchedAt < 60_000) return;
      try {
        const response = await dapr.invoke<OpenApiDocument>(app, 'openapi.json', { timeoutMs: 2000 });
        if (response.status === 200 && typeof response.body === 'object') {
          documents.set(app, { document: response.body, fetchedAt: Date.now() });
        }
      } catch (error) {
        logger.debug({ err: error, app }, 'no API description from service');
      }
    }),
  );
  return mergePublicDocument(
    publicRoutes,
    Object.fromEntries([...documents].map(([app, entry]) => [app, entry.document])),
    {
      title: 'ReserveX public API',
      version: '1.0.0',
      description: 'Every route a client can call, through the gateway.',
    },
  );
}

const app = createGatewayApp({
  verifyToken,
  revokedTokens: daprRevokedTokens(dapr, { store: config.STATESTORE_NAME }),
  forward: createForwarder({
    daprBaseUrl: dapr.baseUrl,
    timeoutMs: config.UPSTREAM_TIMEOUT,
    onFailure: (upstream, error) => logger.warn({ err: error, upstream }, 'upstream call failed'),
  }),
  takeToken,
  publicDocument,
  limits: {
    perAddress: {
      ratePerSecond: config.RATE_LIMIT_ADDRESS_PER_SECOND,
      burst: config.RATE_LIMIT_ADDRESS_BURST,
    },
    perUser: { ratePerSecond: config.RATE_LIMIT_USER_PER_SECOND, burst: config.RATE_LIMIT_USER_BURST },
  },
  corsOrigins: config.CORS_ORIGINS,
  trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  readiness: { dapr: () => dapr.ready(), redis: () => redis.ping() },
});

serve(app, {
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdown: [() => redis.quit(), () => telemetry.shutdown()],
});

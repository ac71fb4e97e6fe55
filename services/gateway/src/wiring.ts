// How the gateway's parts are built from its configuration and the platform; main.ts declares the
// service with them.
import type { ServiceContext } from '@reservex/platform/service';
import type { JSONWebKeySet } from 'jose';
import { createGatewayApp } from './app.ts';
import { createAccessTokenVerifier } from './auth/access-tokens.ts';
import { daprRevokedTokens } from './auth/revoked-tokens.ts';
import type { gatewayConfigShape } from './config.ts';
import { admissionProgressPath, admissionProgressRoute } from './domain/waiting-position.ts';
import { publicDocumentFrom } from './openapi/service-documents.ts';
import { createForwarder } from './proxy/forward.ts';
import { createRateLimiter } from './proxy/rate-limiter.ts';
import { createPolledPositions } from './waiting/polled-positions.ts';
import { createProgressFeeds } from './waiting/progress-feeds.ts';

type Context = ServiceContext<'gateway', typeof gatewayConfigShape, never>;

/** Verifies access tokens with account's signing keys, fetched through the sidecar and cached. */
function tokenVerifier({ config: c, dapr }: Context) {
  return createAccessTokenVerifier({
    fetchJwks: async () => {
      const response = await dapr.invoke<JSONWebKeySet>(c.ACCOUNT_APP_ID, '.well-known/jwks.json');
      if (response.status !== 200) throw new Error(`${c.ACCOUNT_APP_ID} answered ${response.status}`);
      return response.body;
    },
    issuer: c.JWT_ISSUER,
    audience: c.JWT_AUDIENCE,
    maxAgeMs: c.JWKS_MAX_AGE_MS,
    cooldownMs: c.JWKS_REFETCH_COOLDOWN_MS,
  });
}

/** Each show's admission progress, followed once per show through the sidecar for the waiting users here. */
function progressFeeds({ config: c, dapr, log, onDraining }: Context) {
  const base = dapr.baseUrl.replace(/\/+$/, '');
  const feeds = createProgressFeeds({
    open: (showId, signal) =>
      fetch(`${base}/v1.0/invoke/${admissionProgressRoute.owner}/method${admissionProgressPath(showId)}`, {
        headers: {
          accept: 'text/event-stream',
          ...(c.DAPR_API_TOKEN ? { 'dapr-api-token': c.DAPR_API_TOKEN } : {}),
        },
        signal,
      }),
    lingerMs: 30_000,
    retryMs: 1000,
    idleMs: 3 * c.WAITING_STREAM_HEARTBEAT_MS,
    onUpstream: (event, showId, detail) => {
      if (event === 'failed')
        log.warn({ show_id: showId, err: detail }, 'admission progress upstream failed');
      else log.info({ show_id: showId }, `admission progress upstream ${event}`);
    },
  });
  // Held streams end when the gateway stops: their clients resume at another replica (Last-Event-ID).
  onDraining(() => feeds.close());
  return feeds;
}

/** The public API: authentication, rate limits, and forwarding to the owning service. */
export function gatewayApp(context: Context) {
  const { config: c, dapr, redis, log, readiness } = context;
  const feeds = progressFeeds(context);
  return createGatewayApp({
    waitingRoom: {
      feeds,
      pollTraceShare: c.WAITING_POLL_TRACE_SHARE,
      positions: createPolledPositions({
        progressOf: (showId) => feeds.follow(showId),
        recheckMs: 30_000,
        maxEntries: 200_000,
      }),
      heartbeatMs: c.WAITING_STREAM_HEARTBEAT_MS,
      stallMs: c.WAITING_STREAM_STALL_MS,
      onDropped: () => log.info('a waiting stream that stopped reading was dropped'),
    },
    verifyToken: tokenVerifier(context),
    revokedTokens: daprRevokedTokens(dapr, { store: c.STATESTORE_NAME }),
    forward: createForwarder({
      daprBaseUrl: dapr.baseUrl,
      daprApiToken: c.DAPR_API_TOKEN,
      timeoutMs: c.UPSTREAM_TIMEOUT_MS,
      onFailure: (upstream, error) => log.warn({ err: error, upstream }, 'upstream call failed'),
    }),
    takeToken: createRateLimiter(redis, {
      prefix: 'rx:gateway:rl:',
      onError: (error) => log.warn({ err: error }, 'rate limiter unavailable; request let through'),
    }),
    publicDocument: publicDocumentFrom(dapr),
    limits: {
      perAddress: { ratePerSecond: c.RATE_LIMIT_ADDRESS_PER_SECOND, burst: c.RATE_LIMIT_ADDRESS_BURST },
      perUser: { ratePerSecond: c.RATE_LIMIT_USER_PER_SECOND, burst: c.RATE_LIMIT_USER_BURST },
    },
    corsOrigins: c.CORS_ORIGINS,
    trustedProxyHops: c.TRUSTED_PROXY_HOPS,
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    readiness,
  });
}

// The public entry. For every request: CORS, per-address rate limit, route lookup (only public
// routes exist), token verification and access check, per-user rate limit, then forwarding through
// Dapr with the trusted identity headers. Plus the public OpenAPI document and its docs UI.
import { swaggerUI } from '@hono/swagger-ui';
import { trace } from '@opentelemetry/api';
import type { App } from '@reservex/platform/http';
import { createApp, problem, type ReadinessCheck } from '@reservex/platform/http';
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import type { BlankEnv } from 'hono/types';
import { bearerToken, TokenRejected } from './auth/access-tokens.ts';
import { clientAddressOf, upstreamRequestHeaders } from './domain/forwarding.ts';
import { authorize, identityHeaders, type Principal } from './domain/identity.ts';
import { createRouter, publicRoutes, unfitParameter } from './domain/routes.ts';
import type { UpstreamRequest } from './proxy/forward.ts';
import type { BucketLimit, LimitVerdict } from './proxy/rate-limiter.ts';

export interface GatewayDeps {
  verifyToken: (token: string) => Promise<Principal>;
  forward: (request: UpstreamRequest) => Promise<Response>;
  takeToken: (key: string, limit: BucketLimit) => Promise<LimitVerdict>;
  publicDocument: () => Promise<unknown>;
  limits: { perAddress: BucketLimit; perUser: BucketLimit };
  corsOrigins: readonly string[];
  trustedProxyHops: number;
  bodyLimitBytes?: number;
  readiness?: Record<string, ReadinessCheck>;
}

declare module 'hono' {
  interface ContextVariableMap {
    clientAddress: string;
  }
}

function socketAddressOf(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

function rateLimited(verdict: { retryAfterSeconds: number }, scope: string): never {
  return problem(
    429,
    'rate-limited',
    `too many requests from this ${scope}; retry in ${verdict.retryAfterSeconds} s`,
    {
      retryAfterSeconds: verdict.retryAfterSeconds,
    },
    { headers: { 'retry-after': String(verdict.retryAfterSeconds) } },
  );
}

export function createGatewayApp(deps: GatewayDeps): App<BlankEnv> {
  const app = createApp<BlankEnv>({
    serviceName: 'gateway',
    description: 'Operations endpoints of the gateway; the public API is described at /api/openapi.json.',
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  });
  const match = createRouter(publicRoutes);

  app.use(
    '*',
    cors({
      origin: deps.corsOrigins.includes('*') ? '*' : [...deps.corsOrigins],
      allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: [
        'authorization',
        'content-type',
        'idempotency-key',
        'x-pass-token',
        'x-request-id',
        'last-event-id',
      ],
      exposeHeaders: ['retry-after', 'x-request-id', 'location', 'idempotent-replayed'],
      maxAge: 600,
    }),
  );

  app.use('*', async (c, next) => {
    if (c.req.path === '/healthz' || c.req.path === '/readyz') return next();
    const address = clientAddressOf(
      socketAddressOf(c),
      c.req.header('x-forwarded-for') ?? null,
      deps.trustedProxyHops,
    );
    c.set('clientAddress', address);
    const verdict = await deps.takeToken(`ip:${address}`, deps.limits.perAddress);
    if (!verdict.allowed) rateLimited(verdict, 'address');
    return next();
  });

  app.get('/api/openapi.json', async (c) => c.json(await deps.publicDocument()));
  app.get('/api/docs', swaggerUI({ url: '/api/openapi.json', title: 'ReserveX API' }));

  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const found = match(c.req.method, url.pathname);
    if (found.kind === 'not-found')
      problem(404, 'not-found', `no public route ${c.req.method} ${url.pathname}`);
    if (found.kind === 'method-not-allowed') {
      problem(
        405,
        'method-not-allowed',
        `${c.req.method} is not allowed here`,
        { allow: found.allow },
        {
          headers: { allow: found.allow.join(', ') },
        },
      );
    }
    const { route, upstreamPath } = found;
    const unfit = unfitParameter(found.params);
    if (unfit) {
      problem(422, 'validation-failed', `invalid path: ${unfit}`, {
        in: 'path',
        errors: [{ path: unfit, message: 'no control characters, and valid percent-encoding' }],
      });
    }
    // Name the request span after the public route, not the catch-all that serves it.
    trace.getActiveSpan()?.updateName(`${c.req.method} ${route.path}`).setAttribute('http.route', route.path);

    let principal: Principal | undefined;
    if (route.access !== 'public') {
      const token = bearerToken(c.req.header('authorization'));
      if (token === null) unauthorized('the Authorization header is not a bearer token');
      if (token !== undefined) principal = await verified(token);
    }
    const decision = authorize(route.access, principal);
    if (!decision.allowed) {
      if (decision.status === 401) unauthorized(decision.detail);
      problem(decision.status, 'forbidden', decision.detail);
    }
    if (principal) {
      const verdict = await deps.takeToken(`user:${principal.userId}`, deps.limits.perUser);
      if (!verdict.allowed) rateLimited(verdict, 'user');
    }

    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    return deps.forward({
      app: route.app,
      publicPath: url.pathname,
      path: upstreamPath,
      search: url.search,
      method: c.req.method,
      headers: upstreamRequestHeaders(c.req.raw.headers, {
        ...identityHeaders(principal),
        'x-forwarded-for': c.get('clientAddress'),
        'x-forwarded-proto': url.protocol.replace(':', ''),
        'x-request-id': c.get('requestId'),
      }),
      body: hasBody ? await c.req.arrayBuffer() : undefined,
      stream: route.stream === true,
      signal: c.req.raw.signal,
    });
  });

  function unauthorized(detail: string): never {
    return problem(
      401,
      'unauthorized',
      detail,
      {},
      { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
    );
  }

  async function verified(token: string): Promise<Principal> {
    try {
      return await deps.verifyToken(token);
    } catch (error) {
      if (error instanceof TokenRejected) {
        if (error.failure.kind === 'keys-unavailable') {
          problem(
            503,
            'service-unavailable',
            'access tokens cannot be verified right now',
            {},
            {
              headers: { 'retry-after': '5' },
            },
          );
        }
        unauthorized(error.failure.detail);
      }
      throw error;
    }
  }

  return app;
}

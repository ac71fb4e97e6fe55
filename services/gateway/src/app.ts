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
import type { RevokedTokens } from './auth/revoked-tokens.ts';
import { canonicalTarget, uncarriableHeader } from './domain/canonical-target.ts';
import { clientAddressOf, upstreamRequestHeaders } from './domain/forwarding.ts';
import { authorize, identityHeaders, type Principal } from './domain/identity.ts';
import { createRouter, publicRoutes } from './domain/routes.ts';
import { detailsOfUnseen, readModelFallback } from './domain/unseen-reservation.ts';
import type { UpstreamRequest } from './proxy/forward.ts';
import type { BucketLimit, LimitVerdict } from './proxy/rate-limiter.ts';
import type { PolledPositions } from './waiting/polled-positions.ts';
import type { ProgressFeeds } from './waiting/progress-feeds.ts';
import { type NodeOutgoing, openWaitingStream } from './waiting/waiting-stream.ts';

export interface GatewayDeps {
  verifyToken: (token: string) => Promise<Principal>;
  revokedTokens: RevokedTokens;
  forward: (request: UpstreamRequest) => Promise<Response>;
  takeToken: (key: string, limit: BucketLimit) => Promise<LimitVerdict>;
  publicDocument: () => Promise<unknown>;
  limits: { perAddress: BucketLimit; perUser: BucketLimit };
  corsOrigins: readonly string[];
  trustedProxyHops: number;
  bodyLimitBytes?: number;
  readiness?: Record<string, ReadinessCheck>;
  /**
   * The waiting room's streams, held here: one upstream per show, positions computed per user.
   * Without it the stream is forwarded to the queue per user.
   */
  waitingRoom?: {
    feeds: ProgressFeeds;
    /** The share of position polls whose trace is recorded. */
    pollTraceShare?: number;
    /** Position polls answered here from the user's number and the show's progress. */
    positions: PolledPositions;
    heartbeatMs: number;
    stallMs: number;
    onDropped?: () => void;
  };
}

declare module 'hono' {
  interface ContextVariableMap {
    clientAddress: string;
    /** The request target in its canonical form: what routing and forwarding use. */
    target: { path: string; search: string };
  }
}

type NodeIncoming = { url?: string; socket?: { remoteAddress?: string } };

function incomingOf(c: Context): NodeIncoming | undefined {
  return (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
}

/** The client's response when Node serves the request (`@hono/node-server`'s bindings). */
function outgoingOf(c: Context): NodeOutgoing | undefined {
  return (c.env as { outgoing?: NodeOutgoing } | undefined)?.outgoing;
}

function socketAddressOf(c: Context): string | undefined {
  return incomingOf(c)?.socket?.remoteAddress;
}

/** The target as sent: the URL hono hands over has already had its dot segments removed. */
function rawTargetOf(c: Context): string {
  const raw = incomingOf(c)?.url;
  if (raw !== undefined) return raw;
  const url = new URL(c.req.url);
  return `${url.pathname}${url.search}`;
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
  const match = createRouter(publicRoutes);
  const pollTraceShare = deps.waitingRoom?.pollTraceShare ?? 1;
  const app = createApp<BlankEnv>({
    serviceName: 'gateway',
    publicEdge: true,
    traceShare: (method, path) => {
      if (pollTraceShare === 1 || method !== 'GET') return 1;
      const found = match(method, path);
      return found.kind === 'found' && found.route.standing === 'poll' ? pollTraceShare : 1;
    },
    description: 'Operations endpoints of the gateway; the public API is described at /api/openapi.json.',
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  });

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

  // Before anything routes on the path, and for every path: what the allow-list approves must be
  // what the sidecar and the service will decode.
  app.use('*', async (c, next) => {
    const target = canonicalTarget(rawTargetOf(c));
    if (!target.ok) problem(400, 'bad-request', target.detail);
    const header = uncarriableHeader(c.req.raw.headers);
    if (header !== undefined) {
      problem(400, 'bad-request', `the ${header} header may hold visible ASCII characters only`, {
        header,
      });
    }
    c.set('target', { path: target.path, search: target.search });
    return next();
  });

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
    const { path, search } = c.get('target');
    const found = match(c.req.method, path);
    if (found.kind === 'not-found') problem(404, 'not-found', `no public route ${c.req.method} ${path}`);
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
      const [revoked, verdict] = await Promise.all([
        revocationOf(principal),
        deps.takeToken(`user:${principal.userId}`, deps.limits.perUser),
      ]);
      if (revoked) unauthorized('the token was signed out');
      if (!verdict.allowed) rateLimited(verdict, 'user');
    }
    if (route.endsSession) await signOut(c.req.header('authorization'));

    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    const request: UpstreamRequest = {
      app: route.app,
      publicPath: path,
      path: upstreamPath,
      search,
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
    };
    if (route.heldAtEdge && deps.waitingRoom && principal) {
      const user = principal;
      const showId = found.params.showId!;
      const { positions } = deps.waitingRoom;
      let opening = true;
      // The standing is a JSON call (a refusal through Dapr's stream handling would be lost); its
      // problems name the path the client called.
      const headers = new Headers(request.headers);
      headers.set('accept', 'application/json');
      headers.delete('last-event-id');
      const standing: UpstreamRequest = {
        ...request,
        headers,
        path: request.path.replace(/\/events$/, '/position'),
        stream: false,
      };
      const outgoing = outgoingOf(c);
      return openWaitingStream({
        showId,
        feeds: deps.waitingRoom.feeds,
        // Asked as the user the token names, only while it holds: a token that expired or was signed
        // out while its user waited gets no pass (the stream ends; reconnecting is refused).
        // The first standing comes from the user's number and the show's progress when this gateway
        // knows them (as for a poll): opening or resuming a stream then costs no call.
        standing: async () => {
          const known = opening ? positions.answer(showId, user.userId, Number.POSITIVE_INFINITY) : undefined;
          opening = false;
          if (known) return Response.json(known);
          if (Date.now() >= user.expiresAt * 1000) unauthorized('the token has expired');
          if (await revocationOf(user)) unauthorized('the token was signed out');
          return learntFrom(await deps.forward(standing), (status, body) =>
            positions.learn(showId, user.userId, status, body),
          );
        },
        lastEventId: c.req.header('last-event-id'),
        heartbeatMs: deps.waitingRoom.heartbeatMs,
        stallMs: deps.waitingRoom.stallMs,
        signal: c.req.raw.signal,
        ...(deps.waitingRoom.onDropped ? { onDropped: deps.waitingRoom.onDropped } : {}),
        // Written straight to the client's response when Node serves it, with the headers the
        // middleware prepared (CORS, request id).
        ...(outgoing ? { outgoing: { response: outgoing, headers: c.newResponse(null, 200).headers } } : {}),
      });
    }
    if (route.standing && deps.waitingRoom && principal) {
      const showId = found.params.showId!;
      const { positions } = deps.waitingRoom;
      if (route.standing === 'poll') {
        const answer = positions.answer(showId, principal.userId);
        if (answer) return c.json(answer, 200);
      }
      const userId = principal.userId;
      return learntFrom(await deps.forward(request), (status, body) =>
        positions.learn(showId, userId, status, body),
      );
    }
    const response = await deps.forward(request);
    if (
      response.status === 404 &&
      principal &&
      route.method === readModelFallback.method &&
      route.path === readModelFallback.path
    ) {
      return (await unseenReservation(request)) ?? response;
    }
    return response;
  });

  /** The upstream's answer, unchanged, after `learn` has seen its status and (when 200) its JSON body. */
  async function learntFrom(
    response: Response,
    learn: (status: number, body: unknown) => void,
  ): Promise<Response> {
    if (response.status !== 200) {
      learn(response.status, undefined);
      return response;
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    learn(response.status, body);
    return new Response(text, { status: response.status, headers: response.headers });
  }

  /** The caller's own reservation as its owner knows it, when the read model has not seen it yet. */
  async function unseenReservation(request: UpstreamRequest): Promise<Response | undefined> {
    const owner = await deps.forward({ ...request, app: readModelFallback.owner });
    if (owner.status !== 200) return undefined;
    const details = detailsOfUnseen(await owner.json().catch(() => undefined));
    return details ? Response.json(details) : undefined;
  }

  function unauthorized(detail: string): never {
    return problem(
      401,
      'unauthorized',
      detail,
      {},
      { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
    );
  }

  // A revocation that cannot be checked is not ignored: the token might be signed out.
  async function revocationOf(principal: Principal): Promise<boolean> {
    try {
      return await deps.revokedTokens.isRevoked(principal);
    } catch (error) {
      problem(
        503,
        'service-unavailable',
        'signed-out tokens cannot be checked right now',
        {},
        {
          headers: { 'retry-after': '5' },
          cause: error,
        },
      );
    }
  }

  /** Revokes the access token sent with a sign-out; one that does not verify has nothing to revoke. */
  async function signOut(authorization: string | undefined) {
    const token = bearerToken(authorization);
    if (!token) return;
    const principal = await deps.verifyToken(token).catch(() => undefined);
    if (!principal) return;
    try {
      await deps.revokedTokens.revoke(principal);
    } catch (error) {
      problem(
        503,
        'service-unavailable',
        'signing out is not possible right now; try again',
        {},
        {
          headers: { 'retry-after': '5' },
          cause: error,
        },
      );
    }
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

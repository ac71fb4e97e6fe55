import { createRoute, type Hook, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { isDatabaseUnreachable } from '../db/unavailable.ts';
import { logger as processLogger, traceRequests } from '../telemetry/index.ts';
import {
  type FieldError,
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  type ProblemType,
  problemResponses,
} from './problem.ts';
import { fromSidecarOnly } from './sidecar-token.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Request-scoped logger: carries `request_id` (and, through the mixin, the trace ids). */
    log: Logger;
  }
}

/** A readiness check resolves when the dependency answers and throws (or rejects) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

export type AppOptions = {
  serviceName: string;
  /** API version shown in the OpenAPI document. */
  version?: string;
  description?: string;
  /** Largest accepted request body; larger ones get 413. Default 64 KiB. */
  bodyLimitBytes?: number;
  /**
   * Largest body the sidecar may POST to `/dapr/*` (event deliveries; a bulk delivery carries up to
   * a hundred events). Default 32 MiB.
   */
  deliveryBodyLimitBytes?: number;
  /** Named checks run by `/readyz`, e.g. `{ db: () => sql\`select 1\`, dapr: () => dapr.ready() }`. */
  readiness?: Record<string, ReadinessCheck>;
  /** Upper bound for each readiness check. Default 2 s. */
  readinessTimeoutMs?: number;
  /**
   * The app API token: when set, every request but the probes must carry it, i.e. come through the
   * app's own sidecar. Defaults to APP_API_TOKEN from the environment (Dapr's convention); the
   * gateway, whose port faces the public, is given none.
   */
  appApiToken?: string | undefined;
  logger?: Logger;
  /**
   * The app is the public edge (the gateway): its requests come from outside, so each starts a new
   * trace and the client's trace context is kept only as a link. Every app behind it continues the
   * trace its sidecar passes on.
   */
  publicEdge?: boolean;
  /**
   * At the public edge: the share (0–1) of a request's traces that are recorded, by method and path;
   * 1 when omitted. For requests that come by the thousand a second and carry no business of their
   * own (a waiting user's poll), a trace each buys nothing but their cost.
   */
  traceShare?: (method: string, path: string) => number;
};

export type App<E extends Env = Env> = OpenAPIHono<E>;

// serve() flips this so /readyz turns 503 while the process drains: load balancers stop routing
// to it before the listener closes.
const draining = new WeakSet<object>();
export function markDraining(app: object) {
  draining.add(app);
}

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

/**
 * Turns a failed zod validation into a 422 problem naming the fields (or 415 when a JSON body came
 * with another media type). Used as the OpenAPIHono `defaultHook`; a route can pass its own hook.
 */
export const validationHook: Hook<unknown, Env, string, undefined> = (result, c) => {
  if (result.success) return undefined;
  const location = locations[result.target] ?? result.target;
  if (result.target === 'json') {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (!jsonMediaType.test(mediaType)) {
      throw new ProblemError(
        415,
        'unsupported-media-type',
        mediaType
          ? `expected an application/json body, got ${mediaType}`
          : 'expected an application/json body',
      );
    }
  }
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const fields = [...new Set(errors.map((e) => e.path))].join(', ');
  throw new ProblemError(422, 'validation-failed', `invalid ${location}: ${fields}`, {
    in: location,
    errors,
  });
};

const locations: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
};

/**
 * The HTTP app every service starts from: server spans continuing the caller's trace, request id
 * (`x-request-id` in and out), access log, body limit, problem+json for every error, `/healthz`,
 * `/readyz` and `/openapi.json`. Define routes with `createRoute` + `app.openapi` so each one is
 * validated and documented.
 */
export function createApp<E extends Env = Env>(options: AppOptions): OpenAPIHono<E> {
  if (!options.serviceName) throw new Error('createApp: serviceName is required');
  const bodyLimitBytes = options.bodyLimitBytes ?? 65_536;
  const deliveryBodyLimitBytes = options.deliveryBodyLimitBytes ?? 32 * 1024 * 1024;
  for (const [name, value] of Object.entries({ bodyLimitBytes, deliveryBodyLimitBytes })) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`createApp: ${name} must be a positive integer, got ${value}`);
  }
  const log = options.logger ?? processLogger;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2000;
  const checks = Object.entries(options.readiness ?? {});

  const app = new OpenAPIHono<E>({
    defaultHook: validationHook as unknown as Hook<unknown, E, string, undefined>,
  });

  app.use(
    traceRequests({
      publicEdge: options.publicEdge === true,
      ...(options.traceShare ? { traceShare: options.traceShare } : {}),
    }),
  );
  app.use(requestId({ headerName: 'x-request-id' }));
  app.use(async function accessLog(c, next) {
    const requestLog = log.child({ request_id: c.get('requestId') });
    c.set('log', requestLog);
    const started = performance.now();
    await next();
    const status = c.res.status;
    const entry = {
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    // Probes by the sidecar and the orchestrator would drown the log at info, and so would the
    // sidecar's event deliveries (one or more a saga step; each event is traced, and a refusal or a
    // failure is logged by the subscriber).
    if (c.req.path === '/healthz' || c.req.path === '/readyz' || c.req.path.startsWith('/dapr/')) {
      requestLog.debug(entry, 'request');
    } else if (status >= 500) requestLog.error(entry, 'request');
    else requestLog.info(entry, 'request');
  });
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        // The unread rest of the body is still on the socket, and the server drops that connection
        // shortly after answering: tell the client not to reuse it for its next request.
        throw new ProblemError(
          413,
          'payload-too-large',
          `the request body exceeds ${maxSize} bytes`,
          { limitBytes: maxSize },
          { headers: { connection: 'close' } },
        );
      },
    });
  // Dapr's convention: APP_API_TOKEN in the environment of both the app and its sidecar.
  const appApiToken = 'appApiToken' in options ? options.appApiToken : process.env.APP_API_TOKEN || undefined;
  if (appApiToken !== undefined) app.use(fromSidecarOnly({ token: appApiToken }));
  const requestLimit = limit(bodyLimitBytes);
  const deliveryLimit = limit(deliveryBodyLimitBytes);
  app.use((c, next) => (c.req.path.startsWith('/dapr/') ? deliveryLimit(c, next) : requestLimit(c, next)));

  app.notFound((c) =>
    problemResponse(c, new ProblemError(404, 'not-found', `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((error, c) => problemResponse(c, toProblem(error, c)));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'The process is up',
      responses: {
        200: {
          description: 'Up',
          content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
        },
      },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  const readiness = z.object({
    status: z.enum(['ready', 'not-ready']),
    checks: z.record(z.string(), z.string()),
  });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'The process and its dependencies (database, Dapr sidecar) answer',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: readiness } } },
        ...problemResponses(503),
      },
    }),
    async (c) => {
      if (draining.has(app)) throw new ProblemError(503, 'not-ready', 'shutting down');
      const results = await Promise.all(
        checks.map(async ([name, check]) => [name, await runCheck(check, readinessTimeoutMs)] as const),
      );
      const report = Object.fromEntries(results);
      const failing = results.filter(([, outcome]) => outcome !== 'ok').map(([name]) => name);
      if (failing.length > 0) {
        c.get('log').warn({ checks: report }, 'not ready');
        throw new ProblemError(503, 'not-ready', `not ready: ${failing.join(', ')}`, { checks: report });
      }
      return c.json({ status: 'ready' as const, checks: report }, 200);
    },
  );

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: options.serviceName,
      version: options.version ?? '1.0.0',
      ...(options.description ? { description: options.description } : {}),
    },
  });
  return app;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

const statusTypes: Partial<Record<number, ProblemType>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'validation-failed',
  429: 'rate-limited',
  503: 'service-unavailable',
  504: 'timeout',
};

/** Any thrown value as a problem; internals of unexpected errors never reach the client. */
export function toProblem(error: unknown, c: Context): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    if (status === 400 && /malformed json/i.test(error.message)) {
      return new ProblemError(400, 'malformed-json', 'the request body is not valid JSON');
    }
    if (status < 500) {
      return new ProblemError(status, statusTypes[status] ?? 'bad-request', error.message || undefined);
    }
    logUnexpected(c, error);
    return new ProblemError(status, statusTypes[status] ?? 'internal', undefined, {
      requestId: c.get('requestId'),
    });
  }
  if (isDatabaseUnreachable(error)) {
    // Not a fault of the request nor of the code: the caller may try again shortly.
    (c.get('log') ?? processLogger).warn(
      { err: error, method: c.req.method, path: c.req.path },
      'database unreachable; answered 503',
    );
    return new ProblemError(
      503,
      'service-unavailable',
      'the service cannot reach its database right now; try again shortly',
      { requestId: c.get('requestId') },
      { headers: { 'retry-after': '5' } },
    );
  }
  logUnexpected(c, error);
  return new ProblemError(
    500,
    'internal',
    'an unexpected error occurred; quote the request id when reporting it',
    {
      requestId: c.get('requestId'),
    },
  );
}

function logUnexpected(c: Context, error: unknown) {
  const log = c.get('log') ?? processLogger;
  log.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
}

/** Renders a problem as `application/problem+json`. */
export function problemResponse(c: Context, error: ProblemError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  c.header('content-type', PROBLEM_CONTENT_TYPE);
  return c.body(JSON.stringify(error.body(c.req.path)), error.status);
}

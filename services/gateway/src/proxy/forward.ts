// Sends a public request to the owning service through the gateway's Dapr sidecar
// (`/v1.0/invoke/<app>/method/<path>`): no service address is known here, Dapr resolves it. The
// fetch is instrumented, so the sidecar receives the gateway span's `traceparent`.
import { type ProblemType, problem } from '@reservex/platform/http';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { clientResponseHeaders } from '../domain/forwarding.ts';

export interface UpstreamRequest {
  app: string;
  /** The path the client called, e.g. `/api/v1/shows/abc`. */
  publicPath: string;
  /** Path on the service, e.g. `/v1/shows/abc`. */
  path: string;
  /** Raw query string including `?`, or ''. */
  search: string;
  method: string;
  headers: Headers;
  body: ArrayBuffer | undefined;
  /** A long-lived response (server-sent events): the timeout covers only its start. */
  stream: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface ForwarderOptions {
  daprBaseUrl: string;
  /** The gateway sidecar's Dapr API token: the sidecar answers only calls that carry it. */
  daprApiToken?: string | undefined;
  timeoutMs: number;
  onFailure?: (app: string, error: unknown) => void;
}

/** Dapr answers with `{ errorCode: 'ERR_…' }` when it, not the service, failed the call. */
function isSidecarError(body: string): { errorCode: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { errorCode?: unknown; message?: unknown };
    if (typeof parsed.errorCode === 'string' && parsed.errorCode.startsWith('ERR_')) {
      return {
        errorCode: parsed.errorCode,
        message: typeof parsed.message === 'string' ? parsed.message : '',
      };
    }
  } catch {
    // not JSON: the service's own answer
  }
  return undefined;
}

export function createForwarder(options: ForwarderOptions) {
  const base = options.daprBaseUrl.replace(/\/+$/, '');

  return async function forward(request: UpstreamRequest): Promise<Response> {
    const url = `${base}/v1.0/invoke/${encodeURIComponent(request.app)}/method${request.path}${request.search}`;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
    const signal = AbortSignal.any([timeout.signal, request.signal]);
    let upstream: Response;
    let body: ArrayBuffer | undefined;
    try {
      // Whatever token a client sent is dropped: only the gateway's own reaches its sidecar.
      const headers = new Headers(request.headers);
      headers.delete('dapr-api-token');
      if (options.daprApiToken) headers.set('dapr-api-token', options.daprApiToken);
      upstream = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body && request.body.byteLength > 0 ? { body: request.body } : {}),
        signal,
        redirect: 'manual',
      });
      // A stream's timeout covers only its start; any other answer (a refused stream included) is
      // read whole within it.
      const streaming =
        request.stream &&
        upstream.ok &&
        /^text\/event-stream/i.test(upstream.headers.get('content-type') ?? '');
      if (!streaming) body = await upstream.arrayBuffer();
    } catch (error) {
      if (timeout.signal.aborted) {
        problem(504, 'upstream-timeout', `${request.app} did not answer within ${options.timeoutMs} ms`, {
          upstream: request.app,
        });
      }
      if (request.signal.aborted)
        problem(499 as ContentfulStatusCode, 'client-closed-request', 'the client went away');
      options.onFailure?.(request.app, error);
      problem(
        502,
        'upstream-failed',
        `${request.app} could not be reached`,
        { upstream: request.app },
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    if (body === undefined) {
      return new Response(upstream.body, {
        status: upstream.status,
        headers: clientResponseHeaders(upstream.headers),
      });
    }
    return answer(request, upstream, body, options.onFailure);
  };
}

function answer(
  request: UpstreamRequest,
  upstream: Response,
  body: ArrayBuffer,
  onFailure: ForwarderOptions['onFailure'],
): Response {
  const app = request.app;
  if (upstream.status >= 400) {
    const sidecar = isSidecarError(new TextDecoder().decode(body));
    if (sidecar) {
      const refusal = sidecarRefusal(app, upstream.status, sidecar);
      if (refusal.status >= 500) onFailure?.(app, new Error(`${sidecar.errorCode}: ${sidecar.message}`));
      problem(
        refusal.status,
        refusal.type,
        refusal.detail,
        { upstream: app, errorCode: sidecar.errorCode },
        {
          ...(refusal.status === 503 ? { headers: { 'retry-after': '5' } } : {}),
        },
      );
    }
  }
  const status = upstream.status;
  const nullBody = status === 204 || status === 304;
  const headers = clientResponseHeaders(upstream.headers);
  return new Response(nullBody ? null : withPublicInstance(body, headers, request), { status, headers });
}

type Refusal = { status: ContentfulStatusCode; type: ProblemType; detail: string };

const refusalTypes: Partial<Record<number, ProblemType>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
};

/**
 * What the client is told when the sidecar, not the service, answered: a request the sidecar refused
 * keeps its status (a 404 stays a 404), a service it could not reach is 503, one too slow 504, and
 * anything else the sidecar failed at 502.
 */
export function sidecarRefusal(
  app: string,
  status: number,
  error: { errorCode: string; message: string },
): Refusal {
  if (status < 500) {
    return {
      status: status as ContentfulStatusCode,
      type: refusalTypes[status] ?? 'bad-request',
      detail: `the request could not be delivered to ${app}`,
    };
  }
  if (/deadline exceeded|timeout|timed out/i.test(error.message))
    return { status: 504, type: 'timeout', detail: `${app} did not answer in time` };
  if (
    /connection refused|no such host|not found|unavailable|not ready|failed to resolve|no healthy/i.test(
      error.message,
    )
  )
    return { status: 503, type: 'service-unavailable', detail: `${app} is not available` };
  return { status: 502, type: 'upstream-failed', detail: `${app} failed to answer` };
}

/** A service's problem names the path it served; the client called the public one. */
export function withPublicInstance(
  body: ArrayBuffer,
  headers: Headers,
  request: UpstreamRequest,
): ArrayBuffer | string {
  if (!/^application\/problem\+json/i.test(headers.get('content-type') ?? '')) return body;
  try {
    const problem = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
    let instance: string;
    if (problem.instance === request.path) instance = request.publicPath;
    else if (problem.instance === decoded(request.path)) instance = decoded(request.publicPath);
    else return body;
    headers.delete('content-length');
    return JSON.stringify({ ...problem, instance });
  } catch {
    return body;
  }
}

function decoded(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

// An app answers its own Dapr sidecar only. The sidecar sends the app API token (its APP_API_TOKEN) in
// `dapr-api-token` on everything it forwards — invocations, event deliveries, /dapr/subscribe — so a
// request without it did not come through the sidecar: someone reached the app port directly.
// Probes carry no token (daprd's app health check, the kubelet's probes) and are let through:
// exactly /healthz and /readyz, which say whether the process is up and nothing else.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from './problem.ts';

/** The header daprd carries the app API token in (and the app's Dapr API token to its sidecar). */
export const DAPR_API_TOKEN_HEADER = 'dapr-api-token';

/** Paths answered without a token: the probes. */
export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz'];

/** Shortest token accepted: 32 characters of a random string. */
export const MIN_TOKEN_LENGTH = 32;

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares without leaking, through timing, how much of a guess was right. */
export function sameToken(expected: string, presented: string | undefined): boolean {
  return presented !== undefined && timingSafeEqual(digest(expected), digest(presented));
}

/** Refuses (401) every request but the probes that does not carry the app API token. */
export function fromSidecarOnly(options: { token: string }): MiddlewareHandler {
  if (options.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`fromSidecarOnly: the app API token must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const expected = options.token;
  return async function fromSidecar(c, next) {
    if (!PROBE_PATHS.includes(c.req.path) && !sameToken(expected, c.req.header(DAPR_API_TOKEN_HEADER))) {
      throw new ProblemError(401, 'unauthorized', 'this service answers its own Dapr sidecar only');
    }
    await next();
  };
}

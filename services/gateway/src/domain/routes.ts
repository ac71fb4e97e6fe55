// The public API as the gateway exposes it: which paths exist, which service owns each one, and who
// may call it. Anything not listed here is not reachable from outside, whatever the services serve.
import type { AppId } from '@reservex/contracts';

/** Who may call a route: anyone, a signed-in user, or an administrator. */
export type Access = 'public' | 'user' | 'admin';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface PublicRoute {
  method: HttpMethod;
  /** Public path template, `{name}` for a path parameter. */
  path: string;
  app: AppId;
  access: Access;
  /** Server-sent events: the response is a long-lived stream, exempt from the upstream timeout. */
  stream?: boolean;
  /** Signing out: the bearer access token sent with it, if valid, is revoked before forwarding. */
  endsSession?: boolean;
  /**
   * The waiting room's stream, held by the gateway itself: positions come from the show's shared
   * progress, the user's standing and pass from the route's owner (its position route).
   */
  heldAtEdge?: boolean;
  /**
   * A waiting user's standing in a show's room: a `join` answer teaches the gateway the user's arrival
   * number, and a `poll` is answered from it and the show's shared progress while they wait.
   */
  standing?: 'join' | 'poll';
}

const route = (
  method: HttpMethod,
  path: string,
  app: AppId,
  access: Access,
  stream = false,
): PublicRoute => ({
  method,
  path,
  app,
  access,
  ...(stream ? { stream } : {}),
});

export const publicRoutes: readonly PublicRoute[] = [
  route('POST', '/api/v1/auth/signup', 'account', 'public'),
  route('POST', '/api/v1/auth/login', 'account', 'public'),
  route('POST', '/api/v1/auth/refresh', 'account', 'public'),
  { ...route('POST', '/api/v1/auth/logout', 'account', 'public'), endsSession: true },
  route('GET', '/.well-known/jwks.json', 'account', 'public'),
  route('GET', '/api/v1/shows', 'inventory', 'public'),
  route('GET', '/api/v1/shows/{showId}', 'inventory', 'public'),
  route('POST', '/api/v1/shows', 'inventory', 'admin'),
  route('PATCH', '/api/v1/shows/{showId}', 'inventory', 'admin'),
  route('POST', '/api/v1/shows/{showId}/ticket-types', 'inventory', 'admin'),
  route('PATCH', '/api/v1/shows/{showId}/ticket-types/{ticketTypeId}', 'inventory', 'admin'),
  { ...route('POST', '/api/v1/queue/{showId}/join', 'queue', 'user'), standing: 'join' },
  { ...route('GET', '/api/v1/queue/{showId}/position', 'queue', 'user'), standing: 'poll' },
  { ...route('GET', '/api/v1/queue/{showId}/events', 'queue', 'user', true), heldAtEdge: true },
  route('POST', '/api/v1/reservations', 'reservation', 'user'),
  route('POST', '/api/v1/reservations/{id}/cancel', 'reservation', 'user'),
  route('GET', '/api/v1/reservations', 'query', 'user'),
  route('GET', '/api/v1/reservations/{id}', 'query', 'user'),
  route('GET', '/api/v1/reservations/{id}/events', 'query', 'user', true),
  route('GET', '/api/v1/tickets/{ticketId}', 'ticket', 'user'),
  // Door staff are bound to a show: the ticket service checks STAFF:<showId> or ADMIN.
  route('POST', '/api/v1/tickets/scan', 'ticket', 'user'),
  route('GET', '/api/v1/payments/{reservationId}', 'payment', 'user'),
  route('PUT', '/api/v1/admin/staff/{userId}/shows/{showId}', 'account', 'admin'),
  route('DELETE', '/api/v1/admin/staff/{userId}/shows/{showId}', 'account', 'admin'),
  route('GET', '/api/v1/admin/dead-letters', 'query', 'admin'),
  route('POST', '/api/v1/admin/dead-letters/{id}/replay', 'query', 'admin'),
];

export type RouteMatch =
  | { kind: 'found'; route: PublicRoute; params: Record<string, string>; upstreamPath: string }
  | { kind: 'method-not-allowed'; allow: HttpMethod[] }
  | { kind: 'not-found' };

// A path segment as a client may send it: no empty segments, no dot segments, bounded length.
const MAX_SEGMENT_LENGTH = 200;

function splitPath(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.length > MAX_SEGMENT_LENGTH) {
      return undefined;
    }
  }
  return segments;
}

interface CompiledRoute {
  route: PublicRoute;
  segments: string[];
}

export function createRouter(routes: readonly PublicRoute[] = publicRoutes) {
  const compiled: CompiledRoute[] = routes.map((r) => ({ route: r, segments: r.path.slice(1).split('/') }));

  function matchPath(segments: string[], template: string[]): Record<string, string> | undefined {
    if (segments.length !== template.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < template.length; i++) {
      const expected = template[i]!;
      const actual = segments[i]!;
      if (expected.startsWith('{') && expected.endsWith('}')) params[expected.slice(1, -1)] = actual;
      else if (expected !== actual) return undefined;
    }
    return params;
  }

  return function match(method: string, path: string): RouteMatch {
    const segments = splitPath(path);
    if (!segments) return { kind: 'not-found' };
    const allow: HttpMethod[] = [];
    // Literal segments win over parameters (`/reservations/mine` before `/reservations/{id}`): try the
    // templates with fewer parameters first.
    let best: { route: PublicRoute; params: Record<string, string> } | undefined;
    for (const candidate of compiled) {
      const params = matchPath(segments, candidate.segments);
      if (!params) continue;
      if (candidate.route.method !== method && !(method === 'HEAD' && candidate.route.method === 'GET')) {
        allow.push(candidate.route.method);
        continue;
      }
      if (!best || Object.keys(params).length < Object.keys(best.params).length)
        best = { route: candidate.route, params };
    }
    if (best) return { kind: 'found', ...best, upstreamPath: upstreamPathOf(path) };
    if (allow.length > 0) return { kind: 'method-not-allowed', allow: [...new Set(allow)] };
    return { kind: 'not-found' };
  };
}

/** The owning service serves the public path without the `/api` prefix (`/api/v1/shows` → `/v1/shows`). */
export function upstreamPathOf(publicPath: string): string {
  return publicPath.startsWith('/api/') ? publicPath.slice('/api'.length) : publicPath;
}

// One OpenAPI document for the public API, assembled from the services' own documents: for each
// public route, the owning service's operation under the public path, with the gateway's security
// and refusals added. Internal routes (health, Dapr delivery, …) never appear. A service that is
// down contributes a placeholder for its routes until it is back.
import type { PublicRoute } from '../domain/routes.ts';
import { upstreamPathOf } from '../domain/routes.ts';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: Json;
  paths: Record<string, Record<string, Json>>;
  components?: {
    schemas?: Record<string, Json>;
    securitySchemes?: Record<string, Json>;
    [k: string]: unknown;
  };
  [key: string]: unknown;
}

const problemRef = { $ref: '#/components/schemas/Problem' };
const problemContent = { 'application/problem+json': { schema: problemRef } };

/** `/v1/shows/{showId}` and `/v1/shows/{id}` are the same path to a router. */
function shapeOf(path: string): string {
  return path.replace(/\{[^}]+\}|:[^/]+/g, '{}');
}

function gatewayResponses(route: PublicRoute): Record<string, Json> {
  const responses: Record<string, Json> = {
    '400': {
      description:
        'The path or a header is not in canonical form (encoded separators, dot segments, control characters, invalid UTF-8)',
      content: problemContent,
    },
    '429': {
      description: 'Rate limited; see Retry-After',
      headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } },
      content: problemContent,
    },
    '502': { description: 'The owning service failed', content: problemContent },
    '504': { description: 'The owning service did not answer in time', content: problemContent },
  };
  if (route.access !== 'public') {
    responses['401'] = { description: 'Missing, expired or invalid access token', content: problemContent };
  }
  if (route.access === 'admin')
    responses['403'] = { description: 'Needs the ADMIN role', content: problemContent };
  return responses;
}

function placeholder(route: PublicRoute): Json {
  return {
    summary: `${route.method} ${route.path}`,
    description: `Served by ${route.app}, whose API description is not available right now.`,
    responses: { default: { description: 'See the service', content: problemContent } },
  };
}

/** Operation path parameters as declared by the public path (the service may have named them differently). */
function renameParameters(operation: Json, servicePath: string, publicPath: string): Json {
  const serviceNames = [...servicePath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const publicNames = [...publicPath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  if (!Array.isArray(operation.parameters)) return operation;
  const parameters = (operation.parameters as Json[]).map((parameter) => {
    if (parameter.in !== 'path') return parameter;
    const index = serviceNames.indexOf(parameter.name as string);
    return index >= 0 && publicNames[index] ? { ...parameter, name: publicNames[index] } : parameter;
  });
  return { ...operation, parameters };
}

export function mergePublicDocument(
  routes: readonly PublicRoute[],
  documents: Partial<Record<string, OpenApiDocument>>,
  info: { title: string; version: string; description?: string },
): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const schemas: Record<string, Json> = {};
  const unavailable = new Set<string>();

  for (const route of routes) {
    const document = documents[route.app];
    const method = route.method.toLowerCase();
    let operation: Json | undefined;
    if (document) {
      const wanted = shapeOf(upstreamPathOf(route.path));
      const servicePath = Object.keys(document.paths ?? {}).find((p) => shapeOf(p) === wanted);
      const found = servicePath ? document.paths[servicePath]?.[method] : undefined;
      if (found && servicePath) operation = renameParameters(found, servicePath, route.path);
      for (const [name, schema] of Object.entries(document.components?.schemas ?? {}))
        schemas[name] ??= schema;
    } else {
      unavailable.add(route.app);
    }
    operation ??= placeholder(route);
    const responses = { ...gatewayResponses(route), ...((operation.responses as Json | undefined) ?? {}) };
    paths[route.path] ??= {};
    paths[route.path]![method] = {
      ...operation,
      tags: (operation.tags as string[] | undefined) ?? [route.app],
      ...(route.access === 'public' ? {} : { security: [{ bearer: [] }] }),
      ...(route.access === 'admin' ? { 'x-required-role': 'ADMIN' } : {}),
      responses,
    };
  }

  schemas.Problem ??= {
    type: 'object',
    description: 'RFC 9457 problem details',
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
    },
    required: ['type', 'title', 'status'],
  };

  return {
    openapi: '3.1.0',
    info: {
      ...info,
      ...(unavailable.size > 0 ? { 'x-unavailable-services': [...unavailable].sort() } : {}),
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from POST /api/v1/auth/login, verified against /.well-known/jwks.json.',
        },
      },
    },
  };
}

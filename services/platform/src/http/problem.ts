// RFC 9457 problem details: the one error shape of every ReserveX API. A `type` is a stable URI a
// client can switch on; `title` is its fixed human summary; `detail` explains this occurrence.
import { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const PROBLEM_BASE = 'https://reservex.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types every service shares; services may add their own slugs (e.g. `sold-out`). */
export const problemTitles = {
  'validation-failed': 'Request validation failed',
  'malformed-json': 'Malformed JSON body',
  'unsupported-media-type': 'Unsupported media type',
  'payload-too-large': 'Payload too large',
  'bad-request': 'Bad request',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'rate-limited': 'Too many requests',
  'precondition-failed': 'Precondition failed',
  'not-ready': 'Not ready',
  'service-unavailable': 'Service unavailable',
  'upstream-failed': 'Upstream service failed',
  timeout: 'Timed out',
  internal: 'Internal error',
} as const;

export type ProblemType = keyof typeof problemTitles;

/** A field-level validation error. `path` uses dots (`items.0.quantity`). */
export type FieldError = { path: string; message: string };

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
};

/** Full type URI for a slug; a value that is already a URI stays as it is. */
export function problemTypeUri(type: ProblemType | (string & {})): string {
  return /^[a-z][a-z\d+.-]*:/i.test(type) ? type : `${PROBLEM_BASE}${type}`;
}

function titleOf(type: string, status: number): string {
  const slug = type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : type;
  if (slug in problemTitles) return problemTitles[slug as ProblemType];
  const words = slug.replace(/^.*\//, '').replace(/[-_]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : `HTTP ${status}`;
}

/**
 * An error that renders as `application/problem+json`. Thrown from handlers (or by `problem()`),
 * caught by the app's error handler.
 */
export class ProblemError extends Error {
  readonly status: ContentfulStatusCode;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    type: ProblemType | (string & {}),
    detail?: string,
    extensions: Record<string, unknown> = {},
    options: { title?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? type, { cause: options.cause });
    this.name = 'ProblemError';
    this.status = status;
    this.type = problemTypeUri(type);
    this.title = options.title ?? titleOf(this.type, status);
    this.detail = detail;
    this.extensions = extensions;
    this.headers = options.headers ?? {};
  }

  body(instance?: string): ProblemBody {
    const body: ProblemBody = { type: this.type, title: this.title, status: this.status };
    if (this.detail !== undefined) body.detail = this.detail;
    if (instance !== undefined) body.instance = instance;
    for (const [name, value] of Object.entries(this.extensions)) {
      if (!(name in body)) body[name] = value;
    }
    return body;
  }
}

/**
 * Stops the request with a problem response: `problem(404, 'not-found', 'no such reservation')`.
 * `extra` becomes extension members of the body (e.g. `{ errors }`, `{ retryAfterSeconds }`).
 */
export function problem(
  status: ContentfulStatusCode,
  type: ProblemType | (string & {}),
  detail?: string,
  extra?: Record<string, unknown>,
  options?: { title?: string; headers?: Record<string, string>; cause?: unknown },
): never {
  throw new ProblemError(status, type, detail, extra, options);
}

export function isProblemError(error: unknown): error is ProblemError {
  return error instanceof ProblemError;
}

/** The problem body as a zod schema, for OpenAPI responses and for clients parsing one. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: `${PROBLEM_BASE}not-found` }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Field errors of a validation failure.' }),
  })
  .catchall(z.unknown())
  .openapi('Problem');

const statusDescriptions: Record<number, string> = {
  400: 'Malformed request',
  401: 'Missing or invalid credentials',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict with the current state',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'Upstream failed',
  503: 'Not available',
};

/**
 * OpenAPI response entries for problem statuses, to spread into a route's `responses`:
 * `responses: { 201: {...}, ...problemResponses(404, 409, 422) }`.
 */
export function problemResponses<const S extends readonly number[]>(...statuses: S) {
  const responses = {} as Record<
    S[number],
    { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
  >;
  for (const status of statuses) {
    responses[status as S[number]] = {
      description: statusDescriptions[status] ?? `HTTP ${status}`,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
    };
  }
  return responses;
}

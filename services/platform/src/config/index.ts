// Configuration comes from environment variables, parsed once at start-up. A process that cannot
// read its configuration stops at once with one line naming every offending variable, instead of
// failing later with a confusing error far from the cause.
import { z } from 'zod';

/** Environment variables as the process received them (a value of '' counts as unset). */
export type Environment = Record<string, string | undefined>;

/** An integer read from a string, within bounds. */
export function intFromString(options: { min?: number; max?: number } = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const expected = describeRange('an integer', min, max);
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, expected)
    .transform(Number)
    .pipe(z.number().int(expected).min(min, expected).max(max, expected));
}

/** A TCP port number. */
export function portFromString() {
  return intFromString({ min: 0, max: 65535 });
}

const durationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const durationPattern = /^(\d+)(ms|s|m|h)?$/;

/**
 * A duration, read in `unit` (ms unless said otherwise): a bare number counts in that unit, or it is
 * written with one (ms, s, m, h) and converted, e.g. `15m`. The variable's name ends in its unit
 * (`_MS`, `_SECONDS`), the one rule for every duration a service reads.
 */
export function durationFromString(options: { unit?: 'ms' | 's'; min?: number; max?: number } = {}) {
  const { unit = 'ms', min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  const what = unit === 'ms' ? 'a duration in ms' : 'a duration in whole seconds';
  const range = describeRange(what, options.min ?? Number.MIN_SAFE_INTEGER, max);
  const expected = `${range}, such as ${unit === 'ms' ? '1500' : '90'}, ${unit === 'ms' ? '1500ms, ' : ''}30s, 5m or 1h`;
  const schema = z
    .string()
    .trim()
    .regex(durationPattern, expected)
    .transform((text) => {
      const [, amount, written] = durationPattern.exec(text) ?? [];
      return (
        (Number(amount) * durationUnits[(written ?? unit) as keyof typeof durationUnits]) /
        durationUnits[unit]
      );
    })
    .pipe(z.number().int(expected).min(min, expected).max(max, expected));
  durationSchemas.set(schema, unit);
  return schema;
}

const durationSchemas = new WeakMap<z.ZodType, 'ms' | 's'>();

/**
 * The variables of a configuration shape that break the naming rule: a duration's name ends in its
 * unit (`_MS`, `_SECONDS`), and only a duration's does.
 */
export function misnamedDurations(shape: z.ZodRawShape): string[] {
  return Object.entries(shape)
    .filter(([name, schema]) => {
      const named = name.endsWith('_MS') ? 'ms' : name.endsWith('_SECONDS') ? 's' : undefined;
      return named !== durationUnitOf(schema as z.ZodType);
    })
    .map(([name]) => name);
}

// `.default()` and `.optional()` wrap a schema; the duration is the inner one.
function durationUnitOf(schema: z.ZodType | undefined): 'ms' | 's' | undefined {
  for (let current = schema, depth = 0; current && depth < 5; depth++) {
    const unit = durationSchemas.get(current);
    if (unit) return unit;
    current = (current.def as { innerType?: z.ZodType }).innerType;
  }
  return undefined;
}

const truthy = new Set(['true', '1', 'yes', 'on']);
const falsy = new Set(['false', '0', 'no', 'off']);

/** A boolean written as true/false, 1/0, yes/no or on/off (any case). */
export function booleanFromString() {
  const expected = 'a boolean (true/false, 1/0, yes/no, on/off)';
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((text) => truthy.has(text) || falsy.has(text), expected)
    .transform((text) => truthy.has(text));
}

/** An absolute URL with one of the given schemes. */
export function urlFromString(schemes: readonly string[]) {
  const expected = `a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`;
  return z
    .string()
    .trim()
    .refine((text) => {
      if (!URL.canParse(text)) return false;
      return schemes.includes(new URL(text).protocol.replace(/:$/, ''));
    }, expected)
    .describe(expected);
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** What every service reads. Services spread it into their own shape and add their keys. */
export const baseConfigShape = {
  SERVICE_NAME: z.string().trim().min(1).max(63).describe('the service name, 1-63 characters'),
  PORT: portFromString().default(3000),
  HOST: z.string().trim().min(1, 'a host name or address').default('0.0.0.0'),
  DAPR_HOST: z.string().trim().min(1, 'a host name or address').default('127.0.0.1'),
  DAPR_HTTP_PORT: portFromString().default(3500),
  DAPR_GRPC_PORT: portFromString().default(50001),
  DAPR_TIMEOUT_MS: durationFromString().default(5000),
  /** Sent to the sidecar with every call: it answers only its own app (Dapr's DAPR_API_TOKEN). */
  DAPR_API_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
  /** Required of every request but the probes: the app answers only its own sidecar (APP_API_TOKEN). */
  APP_API_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
  /**
   * This service's event signing key (base64 PKCS#8 DER, Ed25519): every event it publishes carries
   * its signature. Required of a service that publishes.
   */
  EVENT_SIGNING_KEY: z.string().trim().min(1).optional(),
  /**
   * The public keys of the services whose events this one consumes, `app=base64,app=base64`: an
   * event counts only with its topic owner's signature. Required of a service that consumes.
   */
  EVENT_TRUSTED_KEYS: z.string().trim().min(1).optional(),
  PUBSUB_NAME: z.string().trim().min(1).default('pubsub'),
  STATESTORE_NAME: z.string().trim().min(1).default('statestore'),
  LOCKSTORE_NAME: z.string().trim().min(1).default('lockstore'),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlFromString(['http', 'https']).optional(),
  LOG_LEVEL: z.enum(logLevels, `one of ${logLevels.join(', ')}`).default('info'),
  BODY_LIMIT_BYTES: intFromString({ min: 1 }).default(65536),
  SHUTDOWN_TIMEOUT_MS: durationFromString().default(10_000),
};

/** For services that own a Postgres database. */
export const databaseConfigShape = {
  DATABASE_URL: urlFromString(['postgres', 'postgresql']),
  /**
   * How long start-up (and the migrate command) waits for a database that is not there yet, retrying
   * with back-off, before it gives up; below the kubelet's start-up probe window.
   */
  DATABASE_WAIT_MS: durationFromString().default(90_000),
};

export type ConfigOf<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

export type ConfigResult<S extends z.ZodRawShape> =
  | { ok: true; config: ConfigOf<S> }
  | { ok: false; message: string; variables: string[] };

/**
 * Parses the environment against a shape without side effects. The failure message is one line
 * naming each offending variable and what was expected; it never repeats a value, since values
 * may be secrets.
 */
export function parseConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Environment = process.env,
): ConfigResult<S> {
  const present: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const result = z.object(shape).safeParse(present);
  if (result.success) return { ok: true, config: result.data };

  const problems = new Map<string, string>();
  for (const issue of result.error.issues) {
    const variable = String(issue.path[0] ?? '(environment)');
    if (problems.has(variable)) continue;
    const expected = expectation(shape[variable] as z.ZodType | undefined, issue.message);
    problems.set(
      variable,
      variable in present
        ? `${variable} is malformed (expected ${expected})`
        : `${variable} is missing (expected ${expected})`,
    );
  }
  const variables = [...problems.keys()];
  return { ok: false, variables, message: `invalid configuration: ${[...problems.values()].join('; ')}` };
}

/**
 * Reads the configuration once at start-up. On failure it writes one line to stderr and exits with
 * code 1; a service has nothing sensible to do without its configuration.
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: Environment = process.env): ConfigOf<S> {
  const result = parseConfig(shape, env);
  if (result.ok) return result.config;
  process.stderr.write(`${result.message}\n`);
  process.exit(1);
}

function expectation(schema: z.ZodType | undefined, message: string): string {
  const description = describedAs(schema);
  if (description) return description;
  // zod's default messages for a missing string read "Invalid input: expected string, received
  // undefined"; say what the variable should hold instead.
  if (/received undefined/.test(message)) return 'a value';
  return message.replace(/^Invalid input: /, '');
}

// `.default()` and `.optional()` wrap a schema; the description sits on the inner one.
function describedAs(schema: z.ZodType | undefined): string | undefined {
  for (let current = schema, depth = 0; current && depth < 5; depth++) {
    if (current.description) return current.description;
    const inner = (current.def as { innerType?: z.ZodType }).innerType;
    current = inner;
  }
  return undefined;
}

function describeRange(what: string, min: number, max: number): string {
  const hasMin = min !== Number.MIN_SAFE_INTEGER;
  const hasMax = max !== Number.MAX_SAFE_INTEGER;
  if (hasMin && hasMax) return `${what} from ${min} to ${max}`;
  if (hasMin) return `${what} >= ${min}`;
  if (hasMax) return `${what} <= ${max}`;
  return what;
}

// Traces, metrics and logs. The SDK is started once in main.ts before anything else does I/O.
//
// Under Node 24 ESM with type stripping, require-hook instrumentations (http, pg, ioredis) never see
// our imports and silently record nothing, so the spans that matter are made here by hand: server
// spans by a hono middleware (`traceRequests`), consumer spans by the events module, producer spans
// by the outbox relay, client spans for Postgres statements (db/tracing.ts), Redis commands
// (redis.ts) and sidecar calls (dapr). Outgoing fetch is traced by the undici instrumentation, which
// listens on diagnostics_channel and so works regardless of the module system.

import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { type IMetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { type DestinationStream, type Logger, pino } from 'pino';
import { traceRedisCommands } from './redis.ts';

/** Span attribute names shared by every service, so one query finds a saga's spans. */
export const SpanAttribute = {
  sagaStep: 'saga.step',
  reservationId: 'reservation.id',
} as const;

/** `saga.step` and `reservation.id` attributes, leaving out what is unknown. */
export function sagaAttributes(values: { step?: string; reservationId?: string }): Attributes {
  const attributes: Attributes = {};
  if (values.step !== undefined) attributes[SpanAttribute.sagaStep] = values.step;
  if (values.reservationId !== undefined) attributes[SpanAttribute.reservationId] = values.reservationId;
  return attributes;
}

const instrumentationScope = '@reservex/platform';

export function tracer() {
  return trace.getTracer(instrumentationScope);
}

/** Instruments made before startTelemetry stay no-ops; the API hands out the real meter after. */
export function meter() {
  return metrics.getMeter(instrumentationScope);
}

export type TelemetryOptions = {
  serviceName: string;
  /** OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); without it spans are made but not exported. */
  otlpEndpoint?: string | undefined;
  logLevel?: string | undefined;
  /** Extra span processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  metricReaders?: IMetricReader[];
  metricExportIntervalMs?: number;
  /**
   * Export metrics over OTLP too. Default: yes, unless OTEL_METRICS_EXPORTER=none (a trace-only
   * backend such as the local Jaeger answers 404 to metrics).
   */
  exportMetrics?: boolean;
};

export type Telemetry = {
  /** Exports what has been recorded so far (span processors may export asynchronously). */
  flush(): Promise<void>;
  /** Flushes and stops exporting. Safe to call more than once. */
  shutdown(): Promise<void>;
};

let running: { sdk: NodeSDK; shutdown: Promise<void> | undefined } | undefined;

/**
 * Starts the OpenTelemetry SDK: W3C trace context, AsyncLocalStorage context, OTLP/HTTP export of
 * traces and metrics, fetch instrumentation. Always installs a tracer provider, even without an
 * endpoint, so trace context still flows into logs, outbox rows and published events.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (running) throw new Error('telemetry already started in this process');
  const endpoint = options.otlpEndpoint?.replace(/\/+$/, '');
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  const metricReaders: IMetricReader[] = [...(options.metricReaders ?? [])];
  if (endpoint) {
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }),
        scheduledDelayMillis: 500,
      }),
    );
    if (options.exportMetrics ?? process.env.OTEL_METRICS_EXPORTER !== 'none') {
      metricReaders.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
          exportIntervalMillis: options.metricExportIntervalMs ?? 15_000,
        }),
      );
    }
  }
  // An empty list would make the SDK fall back to OTEL_TRACES_EXPORTER and register no provider.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors,
    metricReaders,
    logRecordProcessors: [],
    instrumentations: [
      new UndiciInstrumentation({
        // Exporting spans over fetch must not itself produce spans.
        ignoreRequestHook: (request) => Boolean(endpoint && request.origin === new URL(endpoint).origin),
      }),
    ],
  });
  sdk.start();
  traceRedisCommands();
  configureLogger({ serviceName: options.serviceName, level: options.logLevel });
  const state: { sdk: NodeSDK; shutdown: Promise<void> | undefined } = { sdk, shutdown: undefined };
  running = state;
  return {
    async flush() {
      const provider = trace.getTracerProvider() as { getDelegate?: () => unknown };
      const delegate = (provider.getDelegate?.() ?? provider) as { forceFlush?: () => Promise<void> };
      await delegate.forceFlush?.();
    },
    shutdown() {
      state.shutdown ??= sdk.shutdown().then(
        () => {
          if (running === state) running = undefined;
        },
        (error: unknown) => {
          logger.warn({ err: error }, 'telemetry shutdown failed');
        },
      );
      return state.shutdown;
    },
  };
}

// --- logs -----------------------------------------------------------------------------------------

// Secrets, tokens and card tokens never reach a log line, however they got into the logged object:
// fields by these names are censored at any of the first three levels, and a failed query's
// parameters (the values a user sent: card tokens, token hashes) are cut from errors, whose message
// and stack repeat them.
const secretFields = [
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'passToken',
  'paymentMethod',
  'authorization',
  'cookie',
  'x-pass-token',
  'secret',
  'privateKey',
  'privateJwk',
  'JWT_SIGNING_KEYS',
  'PASS_TOKEN_SECRET',
  'TICKET_SIGNING_SECRET',
  'SIGNING_KEY_ENCRYPTION_KEY',
  'params',
  'parameters',
];
const REDACTED = '[redacted]';
const quoted = (field: string) => (/^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `["${field}"]`);
export const redactedPaths = secretFields.flatMap((field) => [
  quoted(field).replace(/^\./, ''),
  `*${quoted(field)}`,
  `*.*${quoted(field)}`,
]);

type SerializedError = Record<string, unknown> & { message?: string; stack?: string };

/** pino's error serializer, minus the parameters a failed query repeats in its message and stack. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = pino.stdSerializers.err(error) as SerializedError;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const parameters =
      (cause as { params?: unknown; parameters?: unknown }).params ??
      (cause as { parameters?: unknown }).parameters;
    if (Array.isArray(parameters) && parameters.length > 0) {
      const listed = `params: ${String(parameters)}`;
      for (const field of ['message', 'stack'] as const) {
        const value = serialized[field];
        if (typeof value === 'string') serialized[field] = value.replaceAll(listed, `params: ${REDACTED}`);
      }
    }
    cause = cause.cause;
  }
  for (const field of ['params', 'parameters']) if (field in serialized) serialized[field] = REDACTED;
  return serialized;
}

/**
 * The process logger: JSON lines with `trace_id` and `span_id` of the active span, so a log line
 * leads to its trace. Services log through it (or a child of it), never console.log.
 */
export const logger: Logger = createLogger();

/** A logger in the platform's format, writing to `destination` (stdout by default). */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: redactedPaths, censor: REDACTED },
      serializers: { err: serializeError },
      base: process.env.SERVICE_NAME ? { service: process.env.SERVICE_NAME } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const spanContext = trace.getActiveSpan()?.spanContext();
        if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
        return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
      },
    },
    options.destination,
  );
}

export function configureLogger(options: { serviceName?: string; level?: string | undefined }) {
  if (options.level) logger.level = options.level;
  // setBindings adds a field rather than replacing one: only name the service if the base did not.
  if (options.serviceName && options.serviceName !== process.env.SERVICE_NAME) {
    logger.setBindings({ service: options.serviceName });
  }
}

// --- spans ----------------------------------------------------------------------------------------

/**
 * Runs `fn` inside a new active span, recording a thrown error on the span before rethrowing it.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  options: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export function recordError(span: Span, error: unknown) {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** W3C trace context of a span or of the active context, for carrying over a message hop. */
export type TraceContext = { traceparent: string; tracestate?: string };

/**
 * The W3C trace context of the span active in `from`, undefined without a valid one. Written here
 * rather than through the registered propagator, so it is the same with or without the SDK started
 * (an in-process test, a tool).
 */
export function currentTraceContext(from: Context = context.active()): TraceContext | undefined {
  const spanContext = trace.getSpanContext(from);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/;

/** The context a `traceparent` (and `tracestate`) describe, as the parent of the next span. */
export function contextFromTraceparent(
  traceparent: string | null | undefined,
  tracestate?: string | null,
  base: Context = context.active(),
): Context {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? '');
  // Version ff is invalid; version 00 has exactly four fields.
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5])) return base;
  const spanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16),
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return trace.isSpanContextValid(spanContext) ? trace.setSpanContext(base, spanContext) : base;
}

/** The trace id in a `traceparent` header, e.g. to show or to look it up in Jaeger. */
/**
 * A context in which nothing is recorded: its span carries sampled=0, so neither the spans started
 * under it nor those of whatever it calls (a sidecar) are recorded.
 */
export function unsampledContext(): Context {
  return trace.setSpan(
    ROOT_CONTEXT,
    trace.wrapSpanContext({
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: TraceFlags.NONE,
    }),
  );
}

export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? '');
  return match?.[1];
}

export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * A server span per request, continuing the caller's `traceparent`. Named `METHOD /route/:pattern`
 * once the route is known; 5xx marks the span as an error.
 *
 * With `publicEdge`, the caller is outside and picks nothing: every request starts a new trace,
 * sampled by this process's own sampler, and the client's context (if any) is only a link of the
 * first span — a client cannot join its requests to someone else's saga, nor leave a saga untraced
 * with a sampled flag of 00. Its baggage is not taken either.
 */
export function traceRequests(
  options: {
    serviceName?: string;
    publicEdge?: boolean;
    /** At the public edge, the share of traces recorded for a request (see createApp). */
    traceShare?: (method: string, path: string) => number;
  } = {},
): MiddlewareHandler {
  const duration = meter().createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests.',
  });
  return async function traceRequests(c, next) {
    const url = new URL(c.req.url);
    const attributes: Attributes = {
      'http.request.method': c.req.method,
      'url.path': url.pathname,
      'url.scheme': url.protocol.replace(':', ''),
      ...(options.serviceName ? { 'service.name': options.serviceName } : {}),
    };
    let parent: Context;
    let span: Span;
    if (
      options.publicEdge &&
      options.traceShare &&
      Math.random() >= options.traceShare(c.req.method, url.pathname)
    ) {
      // Not recorded: the request and what it calls run under an unsampled context, so nothing
      // downstream records a span of it either.
      const started = performance.now();
      try {
        await context.with(unsampledContext(), next);
      } finally {
        duration.record((performance.now() - started) / 1000, {
          'http.request.method': c.req.method,
          'http.response.status_code': c.res.status,
        });
      }
      return;
    }
    if (options.publicEdge) {
      parent = context.active();
      const client = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter));
      const links = client && trace.isSpanContextValid(client) ? [{ context: client }] : [];
      span = tracer().startSpan(
        c.req.method,
        { kind: SpanKind.SERVER, attributes, root: true, links },
        parent,
      );
    } else {
      parent = propagation.extract(context.active(), c.req.raw.headers, headerGetter);
      span = tracer().startSpan(c.req.method, { kind: SpanKind.SERVER, attributes }, parent);
    }
    const started = performance.now();
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routePath(c, -1) || undefined;
      const status = c.res.status;
      if (route && route !== '*' && route !== '/*') {
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', status);
      if (c.error) span.recordException(c.error);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      duration.record((performance.now() - started) / 1000, {
        'http.request.method': c.req.method,
        'http.response.status_code': status,
        ...(route ? { 'http.route': route } : {}),
      });
    }
  };
}

export type { Attributes, Context, Logger, Span };
export { context, propagation, SpanKind, SpanStatusCode, trace };

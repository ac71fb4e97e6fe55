// Typed access to the Dapr sidecar. Every call is bounded by a timeout (DaprClient has none), and
// the SDK's two failure styles — HTTP calls that return `{ error }` and calls that throw an Error
// whose message is JSON — both become a DaprError carrying the sidecar's status code.
import {
  CommunicationProtocolEnum,
  DaprClient,
  type LoggerService,
  LogLevel,
  StateConcurrencyEnum,
} from '@dapr/dapr';
import type { Logger } from 'pino';
import {
  type Attributes,
  context,
  currentTraceContext,
  logger as processLogger,
  propagation,
  SpanKind,
  trace,
  withSpan,
} from '../telemetry/index.ts';

export class DaprError extends Error {
  readonly operation: string;
  /** HTTP status the sidecar answered with, when it answered. */
  readonly status: number | undefined;
  /** Dapr's error code, e.g. ERR_STATE_SAVE. */
  readonly errorCode: string | undefined;

  constructor(
    operation: string,
    message: string,
    details: { status?: number | undefined; errorCode?: string | undefined; cause?: unknown } = {},
  ) {
    super(`dapr ${operation}: ${message}`, { cause: details.cause });
    this.name = 'DaprError';
    this.operation = operation;
    this.status = details.status;
    this.errorCode = details.errorCode;
  }
}

/** The sidecar did not answer within the call's timeout. */
export class DaprTimeoutError extends DaprError {
  constructor(operation: string, timeoutMs: number) {
    super(operation, `no answer within ${timeoutMs} ms`, { errorCode: 'TIMEOUT' });
    this.name = 'DaprTimeoutError';
  }
}

/** A state write lost a race: the etag is stale, or a first-write found the key already there. */
export class StateConflictError extends DaprError {
  readonly store: string;
  readonly key: string;
  constructor(store: string, key: string, cause: DaprError) {
    super('state.save', `conflict on ${store}/${key}`, { status: 409, errorCode: cause.errorCode, cause });
    this.name = 'StateConflictError';
    this.store = store;
    this.key = key;
  }
}

export type DaprOptions = {
  host?: string;
  httpPort: number | string;
  /** Bound for each call. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * The sidecar's Dapr API token, sent with every call. Defaults to DAPR_API_TOKEN from the
   * environment, the variable daprd itself requires it from (Dapr's convention, as in the SDK).
   */
  apiToken?: string | undefined;
  logger?: Logger;
};

export type PublishOptions = {
  /** Kafka partition key; events with the same key keep their order. */
  partitionKey?: string;
  /** CloudEvent id. Give a stable one (the outbox row id) so redeliveries are recognisable. */
  id?: string;
  /** CloudEvent type; defaults to the topic name. */
  type?: string;
  /** W3C trace context to continue; defaults to the active span's. */
  traceparent?: string;
  tracestate?: string;
  /** Further publish metadata for the component. */
  metadata?: Record<string, string>;
  /**
   * CloudEvent extension attributes (a signature, say). With these the event is published as a whole
   * CloudEvent, which the sidecar passes on with its attributes; without, the sidecar wraps the data.
   */
  extensions?: Record<string, string>;
  /** The CloudEvent source when published as a whole CloudEvent (the sidecar sets its app id otherwise). */
  source?: string;
};

/** One event of a bulk publish: a whole CloudEvent, published as it is, under its partition key. */
export type BulkPublishEntry = { entryId: string; event: Record<string, unknown>; partitionKey: string };

/** The entries of a bulk publish that failed, by entry id, with why. */
export type BulkPublishResult = { failed: Map<string, string> };

export type StateEntry<T> = { value: T; etag: string | undefined };

export type SaveOptions = {
  /** Write only if the stored etag still matches; otherwise StateConflictError. */
  etag?: string;
  /** Insert-if-absent when no etag is given (Redis), first writer wins otherwise. */
  firstWrite?: boolean;
  /** Let the store expire the key. */
  ttlSeconds?: number;
};

export type UnlockOutcome = 'released' | 'not-found' | 'not-owner';

export type AcquireOptions = {
  /** How long to keep trying. Default 5000 ms. */
  waitMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
};

export type Lease<T> = { acquired: true; value: T } | { acquired: false };

export type InvokeOptions = {
  httpMethod?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  timeoutMs?: number;
};

export type InvokeResponse<T = unknown> = { status: number; headers: Headers; body: T };

export type Dapr = ReturnType<typeof createDapr>;

/**
 * A client for one sidecar. `publish`, `state`, `lock`, `invoke` and `ready` are the building
 * blocks services use; `client` is the raw DaprClient for anything else.
 */
export function createDapr(options: DaprOptions) {
  const host = options.host ?? '127.0.0.1';
  const port = String(options.httpPort);
  const timeoutMs = options.timeoutMs ?? 5000;
  const log = (options.logger ?? processLogger).child({ component: 'dapr' });
  const baseUrl = `http://${host}:${port}`;
  const apiToken = 'apiToken' in options ? options.apiToken : process.env.DAPR_API_TOKEN || undefined;
  const tokenHeader: Record<string, string> = apiToken ? { 'dapr-api-token': apiToken } : {};
  const client = new DaprClient({
    daprHost: host,
    daprPort: port,
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    ...(apiToken ? { daprApiToken: apiToken } : {}),
    logger: { level: LogLevel.Warn, service: sdkLogger(log) },
  });
  sendTraceContext(client);

  async function call<T>(
    operation: string,
    work: () => Promise<T>,
    ms = timeoutMs,
    attributes: Attributes = {},
  ): Promise<T> {
    const bounded = async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DaprTimeoutError(operation, ms)), ms);
      });
      try {
        return await Promise.race([work(), timeout]);
      } catch (error) {
        throw toDaprError(operation, error);
      } finally {
        clearTimeout(timer);
      }
    };
    // A call made for a request, a delivery or a publish is a client span of that trace, and the
    // sidecar's own spans become its children; a call outside any span (probes) starts no trace.
    if (!trace.getActiveSpan()) return bounded();
    return withSpan(
      `dapr ${attributes['dapr.operation'] ?? operation}`,
      {
        'rpc.system': 'dapr',
        'server.address': host,
        'server.port': Number(port),
        'dapr.operation': operation,
        ...attributes,
      },
      bounded,
      { kind: SpanKind.CLIENT },
    );
  }

  /** For `{ error }`-returning SDK calls: turn the returned error into a thrown DaprError. */
  function check(operation: string, result: { error?: unknown } | undefined) {
    if (result?.error) throw toDaprError(operation, result.error);
  }

  async function publish(
    pubsubName: string,
    topic: string,
    data: unknown,
    publishOptions: PublishOptions = {},
  ) {
    const trace = publishOptions.traceparent
      ? { traceparent: publishOptions.traceparent, tracestate: publishOptions.tracestate }
      : currentTraceContext();
    const type = publishOptions.type ?? topic;
    const metadata: Record<string, string> = { ...publishOptions.metadata, 'cloudevent.type': type };
    if (publishOptions.partitionKey) metadata.partitionKey = publishOptions.partitionKey;
    if (publishOptions.id) metadata['cloudevent.id'] = publishOptions.id;
    if (trace?.traceparent) metadata['cloudevent.traceparent'] = trace.traceparent;
    if (trace?.tracestate) metadata['cloudevent.tracestate'] = trace.tracestate;
    // The `cloudevent.*` overrides cannot carry extension attributes: those need a whole CloudEvent
    // (which the SDK sends as application/cloudevents+json and the sidecar keeps as it is).
    const body = publishOptions.extensions
      ? {
          ...publishOptions.extensions,
          specversion: '1.0',
          id: publishOptions.id ?? crypto.randomUUID(),
          source: publishOptions.source ?? 'reservex',
          type,
          datacontenttype: 'application/json',
          ...(trace?.traceparent ? { traceparent: trace.traceparent, traceid: trace.traceparent } : {}),
          ...(trace?.tracestate ? { tracestate: trace.tracestate } : {}),
          data,
        }
      : data;
    await call(
      'publish',
      async () =>
        check(
          'publish',
          await client.pubsub.publish(pubsubName, topic, body as object, {
            metadata,
            ...(publishOptions.extensions ? { contentType: 'application/cloudevents+json' } : {}),
          }),
        ),
      timeoutMs,
      { 'dapr.component': pubsubName, 'messaging.destination.name': topic },
    );
  }

  /**
   * Publishes whole CloudEvents to `topic` in one call (Dapr's bulk publish API), each as it is
   * (`rawPayload`): the sidecar keeps each event's id and trace context instead of giving every
   * entry its own span of this call. Answers the entries that failed, with why; throws only when
   * the call itself failed (then every entry did).
   */
  async function publishBulk(
    pubsubName: string,
    topic: string,
    entries: readonly BulkPublishEntry[],
  ): Promise<BulkPublishResult> {
    if (entries.length === 0) return { failed: new Map() };
    const url = `${baseUrl}/v1.0-alpha1/publish/bulk/${encodeURIComponent(pubsubName)}/${encodeURIComponent(topic)}?metadata.rawPayload=true`;
    const body = JSON.stringify(
      entries.map((entry) => ({
        entryId: entry.entryId,
        event: entry.event,
        contentType: 'application/cloudevents+json',
        metadata: { partitionKey: entry.partitionKey },
      })),
    );
    const response = await call(
      'publish.bulk',
      () =>
        fetch(url, {
          method: 'POST',
          headers: { ...tokenHeader, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        }),
      timeoutMs,
      { 'dapr.component': pubsubName, 'messaging.destination.name': topic },
    );
    const text = await response.text();
    if (response.ok) return { failed: new Map() };
    let answer: { failedEntries?: { entryId?: string; error?: string }[]; message?: string } = {};
    try {
      answer = JSON.parse(text);
    } catch {
      // not JSON: the call failed as a whole
    }
    const listed = (answer.failedEntries ?? []).filter((entry) => typeof entry.entryId === 'string');
    if (listed.length === 0) {
      throw new DaprError(
        'publish.bulk',
        answer.message ?? (text.slice(0, 500) || `HTTP ${response.status}`),
        {
          status: response.status,
        },
      );
    }
    return {
      failed: new Map(listed.map((entry) => [entry.entryId!, entry.error ?? `HTTP ${response.status}`])),
    };
  }

  const state = {
    /** Reads a key with its etag (through getBulk: the single-key API returns no etag). */
    async get<T = unknown>(store: string, key: string): Promise<StateEntry<T> | undefined> {
      return (await state.getMany<T>(store, [key])).get(key);
    },

    /** Reads several keys in one call; an absent key is absent from the answer. */
    async getMany<T = unknown>(store: string, keys: readonly string[]): Promise<Map<string, StateEntry<T>>> {
      const items = await call(
        'state.get',
        () => client.state.getBulk(store, [...keys], { parallelism: Math.min(keys.length, 10) || 1 }),
        timeoutMs,
        { 'dapr.component': store },
      );
      const found = new Map<string, StateEntry<T>>();
      for (const item of items as Array<{ key: string; data?: unknown; etag?: string; error?: string }>) {
        if (item.error) throw new DaprError('state.get', item.error);
        if (!keys.includes(item.key) || item.data === undefined || item.data === null || item.data === '')
          continue;
        found.set(item.key, { value: item.data as T, etag: item.etag });
      }
      return found;
    },

    /** Writes a key; StateConflictError when the etag is stale or a first-write finds the key. */
    async save(store: string, key: string, value: unknown, saveOptions: SaveOptions = {}): Promise<void> {
      const item: {
        key: string;
        value: unknown;
        etag?: string;
        metadata?: Record<string, string>;
        options?: { concurrency: StateConcurrencyEnum };
      } = { key, value };
      if (saveOptions.etag !== undefined) item.etag = saveOptions.etag;
      if (saveOptions.ttlSeconds !== undefined)
        item.metadata = { ttlInSeconds: String(saveOptions.ttlSeconds) };
      // Dapr checks an etag only under first-write concurrency; under last-write (the default) a
      // stale etag is silently ignored. Without an etag, first-write means insert-if-absent.
      const guarded = saveOptions.firstWrite || saveOptions.etag !== undefined;
      if (guarded) item.options = { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE };
      try {
        await call(
          'state.save',
          async () =>
            check(
              'state.save',
              await client.state.save(store, [item as Parameters<typeof client.state.save>[1][0]]),
            ),
          timeoutMs,
          { 'dapr.component': store },
        );
      } catch (error) {
        if (error instanceof DaprError && (isConflict(error) || (guarded && isRefusedGuardedWrite(error)))) {
          throw new StateConflictError(store, key, error);
        }
        throw error;
      }
    },

    /** Deletes a key (only if its etag still matches, when one is given). */
    async delete(store: string, key: string, deleteOptions: { etag?: string } = {}): Promise<void> {
      try {
        await call(
          'state.delete',
          async () =>
            check(
              'state.delete',
              await client.state.delete(store, key, deleteOptions.etag ? { etag: deleteOptions.etag } : {}),
            ),
          timeoutMs,
          { 'dapr.component': store },
        );
      } catch (error) {
        if (error instanceof DaprError && isConflict(error)) throw new StateConflictError(store, key, error);
        throw error;
      }
    },
  };

  const lock = {
    /** One attempt. True when `owner` now holds `resource` for `expirySeconds`. */
    async tryLock(store: string, resource: string, owner: string, expirySeconds: number): Promise<boolean> {
      if (!Number.isInteger(expirySeconds) || expirySeconds <= 0) {
        throw new RangeError(`lock expiry must be a positive whole number of seconds, got ${expirySeconds}`);
      }
      const result = await call(
        'lock',
        () => client.lock.lock(store, resource, owner, expirySeconds),
        timeoutMs,
        {
          'dapr.component': store,
        },
      );
      return result.success === true;
    },

    async unlock(store: string, resource: string, owner: string): Promise<UnlockOutcome> {
      const result = await call('unlock', () => client.lock.unlock(store, resource, owner), timeoutMs, {
        'dapr.component': store,
      });
      // LockStatus: 0 success, 1 lock does not exist, 2 belongs to others, 3 internal error.
      switch (result.status as number) {
        case 0:
          return 'released';
        case 1:
          return 'not-found';
        case 2:
          return 'not-owner';
        default:
          throw new DaprError('unlock', `the lock store failed to release ${resource}`);
      }
    },

    /**
     * Tries until the lock is won or `waitMs` passes, backing off exponentially with jitter
     * between attempts. The lock is try-only in Dapr: there is no queue and no renewal.
     */
    async acquire(
      store: string,
      resource: string,
      owner: string,
      expirySeconds: number,
      acquireOptions: AcquireOptions = {},
    ): Promise<boolean> {
      const deadline = Date.now() + (acquireOptions.waitMs ?? 5000);
      const minDelay = acquireOptions.minDelayMs ?? 25;
      const maxDelay = acquireOptions.maxDelayMs ?? 500;
      for (let attempt = 0; ; attempt++) {
        if (await lock.tryLock(store, resource, owner, expirySeconds)) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || acquireOptions.signal?.aborted) return false;
        const delay = Math.min(remaining, backoffDelay(attempt, minDelay, maxDelay));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },

    /**
     * Runs `work` while holding the lock and releases it afterwards. The lease is not renewed: keep
     * `work` well within `expirySeconds`, or another owner may take the lock meanwhile.
     */
    async withLock<T>(
      store: string,
      resource: string,
      owner: string,
      expirySeconds: number,
      work: () => Promise<T>,
      acquireOptions: AcquireOptions = { waitMs: 0 },
    ): Promise<Lease<T>> {
      const acquired = await lock.acquire(store, resource, owner, expirySeconds, acquireOptions);
      if (!acquired) return { acquired: false };
      try {
        return { acquired: true, value: await work() };
      } finally {
        await lock.unlock(store, resource, owner).catch((error: unknown) => {
          log.warn({ err: error, resource }, 'lock release failed; it expires on its own');
        });
      }
    },
  };

  /**
   * Calls a method of another app through its sidecar. Uses fetch rather than DaprClient's invoker,
   * because the invoker returns only the parsed body and throws away the status code and headers
   * (a caller needs both to handle the callee's problem+json answers). Fetch is traced by the
   * undici instrumentation, which also sends the `traceparent` on.
   */
  async function invoke<T = unknown>(
    appId: string,
    method: string,
    invokeOptions: InvokeOptions = {},
  ): Promise<InvokeResponse<T>> {
    const query = invokeOptions.query ? `?${new URLSearchParams(invokeOptions.query)}` : '';
    const url = `${baseUrl}/v1.0/invoke/${encodeURIComponent(appId)}/method/${method.replace(/^\/+/, '')}${query}`;
    const headers = new Headers(invokeOptions.headers);
    for (const [name, value] of Object.entries(tokenHeader)) headers.set(name, value);
    let body: string | undefined;
    if (invokeOptions.body !== undefined) {
      body = typeof invokeOptions.body === 'string' ? invokeOptions.body : JSON.stringify(invokeOptions.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const ms = invokeOptions.timeoutMs ?? timeoutMs;
    const response = await call(
      `invoke ${appId}/${method}`,
      () =>
        fetch(url, {
          method: invokeOptions.httpMethod ?? 'GET',
          headers,
          body,
          signal: AbortSignal.timeout(ms),
        }),
      ms,
      { 'dapr.operation': `invoke ${appId}`, 'dapr.app_id': appId },
    );
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const parsed = /json/i.test(type) && text ? (JSON.parse(text) as T) : (text as T);
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /**
   * Resolves when the sidecar's components are ready. Uses the outbound health endpoint, which
   * does not wait for this app: the app's own readiness must not depend on itself.
   */
  async function ready(): Promise<void> {
    const response = await call('ready', () =>
      fetch(`${baseUrl}/v1.0/healthz/outbound`, {
        headers: tokenHeader,
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
    if (response.status >= 300) {
      throw new DaprError('ready', `sidecar not ready (HTTP ${response.status})`, {
        status: response.status,
      });
    }
  }

  /**
   * Asks the sidecar to shut down gracefully (what a Kubernetes Job's app does when its work is
   * done, or the sidecar would keep the pod running).
   */
  async function shutdown(): Promise<void> {
    const response = await call('shutdown', () =>
      fetch(`${baseUrl}/v1.0/shutdown`, {
        method: 'POST',
        headers: tokenHeader,
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
    if (response.status >= 300) {
      throw new DaprError('shutdown', `sidecar refused to shut down (HTTP ${response.status})`, {
        status: response.status,
      });
    }
  }

  return { client, baseUrl, publish, publishBulk, state, lock, invoke, ready, shutdown };
}

/** Exponential back-off with full jitter, between `minMs` and `maxMs`. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs, Math.round(Math.random() * ceiling));
}

function isConflict(error: DaprError): boolean {
  if (error.status === 409) return true;
  // Some stores report a failed etag check as a 500 with an etag message.
  return /etag mismatch|ETAG_MISMATCH/i.test(error.message);
}

/**
 * The Redis store refuses an insert-if-absent on an existing key with a 500 from its Lua script
 * ("failed to set key"), not with the 409 of an etag mismatch; for a guarded write that is the
 * same conflict.
 */
function isRefusedGuardedWrite(error: DaprError): boolean {
  return error.errorCode === 'ERR_STATE_SAVE' && /failed to set key/i.test(error.message);
}

/**
 * The SDK throws `new Error(JSON.stringify({ error, error_msg, status }))` for non-2xx answers; the
 * sidecar's body in `error_msg` is itself JSON `{ errorCode, message }`.
 */
export function toDaprError(operation: string, error: unknown): DaprError {
  if (error instanceof DaprError) return error;
  const message = error instanceof Error ? error.message : String(error);
  try {
    const outer = JSON.parse(message) as { error?: string; error_msg?: string; status?: number };
    let errorCode: string | undefined;
    let detail = outer.error_msg ?? outer.error ?? message;
    try {
      const inner = JSON.parse(outer.error_msg ?? '') as { errorCode?: string; message?: string };
      errorCode = inner.errorCode;
      detail = inner.message ?? detail;
    } catch {
      // error_msg was plain text
    }
    return new DaprError(operation, detail, { status: outer.status, errorCode, cause: error });
  } catch {
    return new DaprError(operation, message, { cause: error });
  }
}

/**
 * The SDK talks to the sidecar over node-fetch, which no instrumentation sees under ESM: without a
 * `traceparent` the sidecar would start a trace of its own for every publish, state and lock call.
 * Its one request path gets the active trace context as headers.
 */
function sendTraceContext(client: DaprClient): void {
  const http = client.daprClient as unknown as {
    execute?: (
      url: string,
      params?: { method?: string; headers?: Record<string, string> } | null,
      ...rest: unknown[]
    ) => unknown;
  };
  const execute = http.execute?.bind(http);
  if (!execute) return;
  http.execute = (url, params, ...rest) => {
    const headers: Record<string, string> = { ...params?.headers };
    propagation.inject(context.active(), headers);
    // The SDK reads `params.method` whenever params are given.
    return execute(url, params ? { ...params, headers } : { method: 'GET', headers }, ...rest);
  };
}

function sdkLogger(log: Logger): LoggerService {
  return {
    // The SDK logs at error level what it then returns or throws; we report those ourselves.
    error: (message: unknown) => log.debug(String(message)),
    warn: (message: unknown, ...rest: unknown[]) => log.warn({ detail: rest }, String(message)),
    info: (message: unknown) => log.debug(String(message)),
    verbose: (message: unknown) => log.trace(String(message)),
    debug: (message: unknown) => log.trace(String(message)),
  };
}

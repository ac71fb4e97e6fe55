// The subscribing side of the Dapr app contract, served by hono (not the SDK's DaprServer, which
// acknowledges a delivery as SUCCESS even when the handler throws).
//
// Dapr asks `GET /dapr/subscribe` which topics to deliver where, then POSTs each CloudEvent to the
// route. The answer decides its fate:
//   200 {"status":"SUCCESS"}  handled
//   200 {"status":"RETRY"}    transient failure: the Resiliency policy retries, then dead-letters
//   200 {"status":"DROP"}     can never succeed (schema-invalid, PermanentError): dead-letter topic
//
// A topic can also be bulk-subscribed (`onBatch`): Dapr then POSTs up to N CloudEvents at once and
// the answer carries one of those statuses per entry, with the same meaning.
import {
  DEAD_LETTER_TOPIC,
  type EventOf,
  events,
  isTopic,
  type Topic,
  type TrustedKeys,
  type Verdict,
  verifyEvent,
} from '@reservex/contracts';
import type { Hono, Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import {
  type Attributes,
  type Context,
  context,
  contextFromTraceparent,
  logger as processLogger,
  recordError,
  type Span,
  SpanAttribute,
  SpanKind,
  SpanStatusCode,
  trace,
  tracer,
} from '../telemetry/index.ts';

/** Thrown by a handler for an event that can never be handled: it goes to the dead-letter topic. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** A CloudEvent as Dapr delivers it (structured JSON mode). */
export type CloudEvent = {
  id: string;
  source?: string;
  type?: string;
  specversion?: string;
  datacontenttype?: string;
  time?: string;
  subject?: string;
  topic?: string;
  pubsubname?: string;
  traceparent?: string;
  tracestate?: string;
  traceid?: string;
  data?: unknown;
  data_base64?: string;
  [attribute: string]: unknown;
};

export type DeliveryContext = {
  /** CloudEvent id: the inbox key, stable across redeliveries. */
  id: string;
  topic: string;
  /** Who published it (the publisher's app id). */
  source: string | undefined;
  time: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
  /** The consumer name given to createSubscriber, for inbox rows. */
  consumer: string;
  /** The raw CloudEvent. */
  cloudEvent: CloudEvent;
  log: Logger;
};

/** A handler's result is ignored (an inbox outcome, say); a throw decides the delivery's fate. */
export type EventHandler<T extends Topic> = (event: EventOf<T>, ctx: DeliveryContext) => unknown;

/** A dead-lettered CloudEvent: what failed, where it was headed, and its raw payload. */
export type DeadLetter = {
  id: string;
  /** The topic the event was originally published to (its CloudEvent type). */
  originalTopic: string | undefined;
  source: string | undefined;
  data: unknown;
  cloudEvent: CloudEvent;
  /**
   * Whether it carries its original topic owner's signature: a forgery that was refused for its
   * signature is dead-lettered too, and must not move a saga. Always authentic without trusted keys.
   */
  verdict: Verdict;
};

export type DeadLetterHandler = (letter: DeadLetter, ctx: DeliveryContext) => unknown;

export type DeliveryStatus = 'SUCCESS' | 'RETRY' | 'DROP';

/** One event of a bulk delivery, validated, with its own consumer span in its publisher's trace. */
export type BatchEntry<T extends Topic> = {
  event: EventOf<T>;
  ctx: DeliveryContext;
  /** Runs `fn` with this event's consumer span active: what it enqueues continues this event's trace. */
  within<R>(fn: (span: Span) => R): R;
};

/**
 * Handles a bulk delivery in one go (typically one transaction). Throwing fails the batch: each of
 * its events is then handed over again on its own, in order, so one bad event cannot hold back the
 * others (only the later events of its own reservation, which are retried with it).
 */
export type BatchHandler<T extends Topic> = (entries: BatchEntry<T>[]) => Promise<void>;

/**
 * Wraps a batch handler so the events `settledAlready` answers for never reach it: each of those is
 * acknowledged as it is, its consumer span marked with the attributes returned (why there was nothing
 * to do), and a delivery of only such events opens no transaction at all. For events a participant can
 * tell from their own facts leave it nothing to do (no effect, so nothing for the inbox to guard).
 */
export function skipping<T extends Topic>(
  settledAlready: (event: EventOf<T>) => Attributes | undefined,
  handle: BatchHandler<T>,
): BatchHandler<T> {
  return async (entries) => {
    const rest = entries.filter((entry) => {
      const why = settledAlready(entry.event);
      if (why) entry.within((span) => span.setAttributes(why));
      return !why;
    });
    if (rest.length > 0) await handle(rest);
  };
}

export type BatchOptions = {
  /** Most events per delivery. Default 100. */
  maxMessages?: number;
  /** How long the sidecar waits to fill a delivery before sending what it has. Default 20 ms. */
  maxAwaitMs?: number;
};

export type Subscription = {
  pubsubname: string;
  topic: string;
  route: string;
  deadLetterTopic?: string;
  metadata?: Record<string, string>;
  bulkSubscribe?: { enabled: boolean; maxMessagesCount: number; maxAwaitDurationMs: number };
};

/** A bulk delivery as Dapr POSTs it to a bulk-subscribed route. */
type BulkEnvelope = {
  entries: { entryId: string; event: unknown; contentType?: string; metadata?: Record<string, string> }[];
};

/** Why a consumer refused an event (Dapr dead-letters it without a reason): for the operator. */
export type Refusal = { consumer: string; eventId: string; topic: string; reason: string };

export type SubscriberOptions = {
  pubsubName: string;
  /**
   * The publishers' keys: an event is accepted only with a valid signature of its topic's owner,
   * checked before anything else. Without them, events are not checked (in-process tests).
   */
  trustedKeys?: TrustedKeys;
  /**
   * Records why an event is dead-lettered (bad signature, contract, a PermanentError) before the
   * sidecar is told to drop it; if recording fails the delivery is retried.
   */
  recordRefusal?: (refusal: Refusal) => Promise<void>;
  /** Names this consumer in logs, spans and inbox rows, e.g. the service name. */
  consumer: string;
  /** Where undeliverable events go. Default DEAD_LETTER_TOPIC. */
  deadLetterTopic?: string;
  /** Route prefix for deliveries. Default `/dapr/events`. */
  routePrefix?: string;
  logger?: Logger;
};

export type Subscriber = ReturnType<typeof createSubscriber>;

/**
 * Registers the subscription routes on `app`. Add handlers with `on(topic, handler)` before the
 * server starts (Dapr reads `/dapr/subscribe` once, when the sidecar starts).
 */
// biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes.
export function createSubscriber(app: Hono<any, any, any>, options: SubscriberOptions) {
  if (!options.pubsubName) throw new Error('createSubscriber: pubsubName is required');
  if (!options.consumer) throw new Error('createSubscriber: consumer is required');
  const deadLetterTopic = options.deadLetterTopic ?? DEAD_LETTER_TOPIC;
  const prefix = (options.routePrefix ?? '/dapr/events').replace(/\/+$/, '');
  const log = (options.logger ?? processLogger).child({
    component: 'subscriber',
    consumer: options.consumer,
  });
  const subscriptions = new Map<string, Subscription>();
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;

  app.get('/dapr/subscribe', (c) => c.json([...subscriptions.values()]));

  function route(topic: string) {
    return `${prefix}/${topic}`;
  }

  /** Serves `route` for Dapr, counting deliveries in flight so `drain` can wait for them. */
  function register(
    topic: string,
    subscription: Subscription,
    serveDelivery: (c: HonoContext, text: string) => Promise<Response>,
    whileDraining: (c: HonoContext, text: string) => Response,
  ) {
    if (subscriptions.has(topic))
      throw new Error(`createSubscriber: a handler for ${topic} is already registered`);
    subscriptions.set(topic, subscription);
    app.post(subscription.route, async (c) => {
      const text = await c.req.text();
      if (draining) return whileDraining(c, text);
      inFlight++;
      try {
        return await serveDelivery(c, text);
      } finally {
        inFlight--;
        if (inFlight === 0) idle?.();
      }
    });
  }

  function contextOf(topic: string, cloudEvent: CloudEvent): DeliveryContext {
    return {
      id: cloudEvent.id,
      topic,
      source: cloudEvent.source,
      time: cloudEvent.time,
      traceparent: cloudEvent.traceparent,
      tracestate: cloudEvent.tracestate,
      consumer: options.consumer,
      cloudEvent,
      // Made when first used: most deliveries log nothing, and a child logger is not free.
      get log() {
        const child = log.child({ topic, event_id: cloudEvent.id });
        Object.defineProperty(this, 'log', { value: child });
        return child;
      },
    };
  }

  /** One CloudEvent per POST. */
  function registerSingle(
    topic: string,
    subscription: Subscription,
    deliver: (cloudEvent: CloudEvent, ctx: DeliveryContext) => Promise<DeliveryStatus>,
  ) {
    register(
      topic,
      subscription,
      async (c, text) => {
        let cloudEvent: CloudEvent;
        try {
          cloudEvent = parseCloudEvent(text);
        } catch (error) {
          log.warn({ err: error, topic }, 'undecodable delivery dropped');
          return c.json({ status: 'DROP' satisfies DeliveryStatus }, 200);
        }
        const status = await consume(topic, cloudEvent, contextOf(topic, cloudEvent), deliver);
        return c.json({ status }, 200);
      },
      (c) => c.json({ status: 'RETRY' satisfies DeliveryStatus }, 200),
    );
  }

  /** Up to N CloudEvents per POST, answered with a status per entry. */
  function registerBatch<T extends Topic>(topic: T, subscription: Subscription, handler: BatchHandler<T>) {
    register(
      topic,
      subscription,
      async (c, text) => {
        let envelope: BulkEnvelope;
        try {
          envelope = parseBulkEnvelope(text);
        } catch (error) {
          // Without entry ids there is nothing to answer per entry: an error makes Dapr retry them.
          log.warn({ err: error, topic }, 'undecodable bulk delivery; asking for redelivery');
          return c.json({ statuses: [] }, 400);
        }
        const statuses = new Map<string, DeliveryStatus>();
        const accepted: { entryId: string; entry: BatchEntry<T>; span: Span }[] = [];
        for (const { entryId, event } of envelope.entries) {
          let cloudEvent: CloudEvent;
          try {
            cloudEvent = typeof event === 'string' ? parseCloudEvent(event) : normaliseCloudEvent(event);
          } catch (error) {
            log.warn({ err: error, topic, entry_id: entryId }, 'undecodable delivery dropped');
            statuses.set(entryId, 'DROP');
            continue;
          }
          const ctx = contextOf(topic, cloudEvent);
          const admitted = admit(topic, cloudEvent);
          if ('reason' in admitted) {
            statuses.set(entryId, await refuse(ctx, admitted.reason));
            continue;
          }
          const span = startConsumerSpanHere(topic, cloudEvent, {
            'messaging.batch.message_count': envelope.entries.length,
          });
          const active: Context = trace.setSpan(context.active(), span);
          accepted.push({
            entryId,
            span,
            entry: {
              event: admitted.event as EventOf<T>,
              ctx,
              within: (fn) => context.with(active, () => fn(span)),
            },
          });
        }
        try {
          await handleBatch(accepted, handler, statuses);
        } finally {
          for (const { span } of accepted) span.end();
        }
        return c.json(
          {
            statuses: envelope.entries.map(({ entryId }) => ({
              entryId,
              status: statuses.get(entryId) ?? 'RETRY',
            })),
          },
          200,
        );
      },
      (c, text) => {
        try {
          const entries = parseBulkEnvelope(text).entries;
          const status: DeliveryStatus = 'RETRY';
          return c.json({ statuses: entries.map(({ entryId }) => ({ entryId, status })) }, 200);
        } catch {
          return c.json({ statuses: [] }, 503);
        }
      },
    );
  }

  /** The whole batch at once; if that fails, each event alone, so only the bad ones are retried. */
  async function handleBatch<T extends Topic>(
    accepted: { entryId: string; entry: BatchEntry<T>; span: Span }[],
    handler: BatchHandler<T>,
    statuses: Map<string, DeliveryStatus>,
  ) {
    if (accepted.length === 0) return;
    const settle = (item: (typeof accepted)[number], status: DeliveryStatus, error?: unknown) => {
      statuses.set(item.entryId, status);
      item.span.setAttribute('reservex.delivery.status', status);
      if (error !== undefined) recordError(item.span, error);
    };
    try {
      await handler(accepted.map((a) => a.entry));
      for (const item of accepted) settle(item, 'SUCCESS');
      return;
    } catch (error) {
      if (accepted.length === 1) {
        settle(accepted[0]!, await failureStatus(accepted[0]!.entry.ctx, error), error);
        return;
      }
      log.warn({ err: error, events: accepted.length }, 'batch failed; handling its events one by one');
    }
    // One reservation's events keep their order: after one of them failed, its later ones in this
    // delivery are not applied but retried with it.
    const held = new Set<string>();
    for (const item of accepted) {
      const key = reservationOf(item.entry.ctx.cloudEvent.data);
      if (key !== undefined && held.has(key)) {
        settle(item, 'RETRY');
        continue;
      }
      try {
        await handler([item.entry]);
        settle(item, 'SUCCESS');
      } catch (error) {
        const status = await failureStatus(item.entry.ctx, error);
        settle(item, status, error);
        if (status === 'RETRY' && key !== undefined) held.add(key);
      }
    }
  }

  async function failureStatus(ctx: DeliveryContext, error: unknown): Promise<DeliveryStatus> {
    if (error instanceof PermanentError) return refuse(ctx, error.message, error);
    ctx.log.warn({ err: error }, 'handler failed; asking for redelivery');
    return 'RETRY';
  }

  /**
   * The event a handler may see, or why it may not: not signed by the topic's owner (checked first),
   * or not matching the topic's contract.
   */
  function admit(topic: Topic, cloudEvent: CloudEvent): { event: unknown } | { reason: string } {
    if (options.trustedKeys) {
      const verdict = verifyEvent(options.trustedKeys, topic, cloudEvent);
      if (!verdict.authentic) return { reason: verdict.reason };
    }
    const parsed = events[topic].safeParse(cloudEvent.data);
    return parsed.success ? { event: parsed.data } : { reason: contractViolation(parsed.error.issues) };
  }

  /** Dead-letters the event, recording why first (the sidecar carries no reason along). */
  async function refuse(ctx: DeliveryContext, reason: string, error?: unknown): Promise<DeliveryStatus> {
    ctx.log.error({ reason, ...(error ? { err: error } : {}) }, 'event refused; dead-lettering');
    if (!options.recordRefusal) return 'DROP';
    try {
      await options.recordRefusal({ consumer: options.consumer, eventId: ctx.id, topic: ctx.topic, reason });
      return 'DROP';
    } catch (recordError) {
      ctx.log.warn({ err: recordError }, 'cannot record why an event is refused; asking for redelivery');
      return 'RETRY';
    }
  }

  function startConsumerSpanHere(
    topic: string,
    cloudEvent: CloudEvent,
    extra: Record<string, number> = {},
  ): Span {
    return startConsumerSpan(topic, cloudEvent, options.consumer, extra);
  }

  /** Runs one delivery inside a consumer span continuing the publisher's trace. */
  async function consume(
    topic: string,
    cloudEvent: CloudEvent,
    ctx: DeliveryContext,
    deliver: (cloudEvent: CloudEvent, ctx: DeliveryContext) => Promise<DeliveryStatus>,
  ): Promise<DeliveryStatus> {
    const span = startConsumerSpanHere(topic, cloudEvent);
    return context.with(trace.setSpan(context.active(), span), async () => {
      try {
        const status = await deliver(cloudEvent, ctx);
        span.setAttribute('reservex.delivery.status', status);
        if (status !== 'SUCCESS') span.setStatus({ code: SpanStatusCode.ERROR, message: status });
        return status;
      } catch (error) {
        recordError(span, error);
        const status = await failureStatus(ctx, error);
        span.setAttribute('reservex.delivery.status', status);
        return status;
      } finally {
        span.end();
      }
    });
  }

  function deadLetterVerdict(originalTopic: string | undefined, cloudEvent: CloudEvent): Verdict {
    if (!options.trustedKeys) return { authentic: true };
    if (!originalTopic || !isTopic(originalTopic))
      return { authentic: false, reason: `no known original topic (${originalTopic ?? 'none'})` };
    return verifyEvent(options.trustedKeys, originalTopic, cloudEvent);
  }

  return {
    /**
     * Handles `topic`. The payload is validated against its contract first: an invalid one never
     * reaches the handler and is dead-lettered. Throw PermanentError to dead-letter, anything else
     * to have the delivery retried.
     */
    on<T extends Topic>(topic: T, handler: EventHandler<T>) {
      if (!isTopic(topic)) throw new Error(`createSubscriber: unknown topic ${topic}`);
      registerSingle(
        topic,
        { pubsubname: options.pubsubName, topic, route: route(topic), deadLetterTopic },
        async (cloudEvent, ctx) => {
          const admitted = admit(topic, cloudEvent);
          if ('reason' in admitted) return refuse(ctx, admitted.reason);
          await handler(admitted.event as EventOf<T>, ctx);
          return 'SUCCESS';
        },
      );
      return this;
    },

    /**
     * Handles `topic` in batches: the sidecar bulk-subscribes and delivers up to `maxMessages`
     * events at once, validated as `on` does (an invalid one is dead-lettered on its own). If the
     * handler throws, each event of the batch is handed over again alone; then a PermanentError
     * dead-letters that event, anything else has it retried.
     */
    onBatch<T extends Topic>(topic: T, handler: BatchHandler<T>, batch: BatchOptions = {}) {
      if (!isTopic(topic)) throw new Error(`createSubscriber: unknown topic ${topic}`);
      const maxMessagesCount = batch.maxMessages ?? 100;
      const maxAwaitDurationMs = batch.maxAwaitMs ?? 20;
      if (!Number.isInteger(maxMessagesCount) || maxMessagesCount < 1)
        throw new Error('createSubscriber: maxMessages must be a positive integer');
      if (!Number.isInteger(maxAwaitDurationMs) || maxAwaitDurationMs < 1)
        throw new Error('createSubscriber: maxAwaitMs must be a positive integer');
      registerBatch(
        topic,
        {
          pubsubname: options.pubsubName,
          topic,
          route: route(topic),
          deadLetterTopic,
          bulkSubscribe: { enabled: true, maxMessagesCount, maxAwaitDurationMs },
        },
        handler,
      );
      return this;
    },

    /**
     * Consumes the dead-letter topic itself (for listing and replay). It has no dead-letter topic
     * of its own; a throwing handler is retried.
     */
    onDeadLetter(handler: DeadLetterHandler) {
      registerSingle(
        deadLetterTopic,
        { pubsubname: options.pubsubName, topic: deadLetterTopic, route: route(deadLetterTopic) },
        async (cloudEvent, ctx) => {
          const originalTopic =
            cloudEvent.type && cloudEvent.type !== deadLetterTopic ? cloudEvent.type : undefined;
          await handler(
            {
              id: cloudEvent.id,
              originalTopic,
              source: cloudEvent.source,
              data: cloudEvent.data,
              cloudEvent,
              verdict: deadLetterVerdict(originalTopic, cloudEvent),
            },
            ctx,
          );
          return 'SUCCESS';
        },
      );
      return this;
    },

    /** The subscriptions as served on `/dapr/subscribe`. */
    subscriptions(): Subscription[] {
      return [...subscriptions.values()];
    },

    /**
     * Stops taking deliveries (they are answered RETRY and come back later) and waits for the ones
     * in progress, up to `timeoutMs`. For the shutdown hooks.
     */
    async drain(timeoutMs = 10_000): Promise<void> {
      draining = true;
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
}

/** Parses a structured-mode CloudEvent; `data_base64` is decoded (and parsed when it is JSON). */
export function parseCloudEvent(text: string): CloudEvent {
  return normaliseCloudEvent(JSON.parse(text));
}

/** Checks a decoded CloudEvent has an id and makes its `data` the payload, whichever way it came. */
export function normaliseCloudEvent(value: unknown): CloudEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('not a CloudEvent object');
  const cloudEvent = value as CloudEvent;
  if (typeof cloudEvent.id !== 'string' || cloudEvent.id === '') throw new Error('CloudEvent without an id');
  if (cloudEvent.data === undefined && typeof cloudEvent.data_base64 === 'string') {
    const decoded = Buffer.from(cloudEvent.data_base64, 'base64').toString('utf8');
    try {
      cloudEvent.data = JSON.parse(decoded);
    } catch {
      cloudEvent.data = decoded;
    }
  } else if (typeof cloudEvent.data === 'string' && /json/i.test(cloudEvent.datacontenttype ?? '')) {
    // Some publishers double-encode JSON; accept it rather than dead-letter a readable event.
    try {
      cloudEvent.data = JSON.parse(cloudEvent.data);
    } catch {
      // leave it as a string; validation will reject it
    }
  }
  return cloudEvent;
}

/** A bulk delivery's envelope: it must list its entries, each with an id to answer for. */
function parseBulkEnvelope(text: string): BulkEnvelope {
  const value: unknown = JSON.parse(text);
  const entries = (value as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new Error('bulk delivery without entries');
  for (const entry of entries) {
    if (typeof entry?.entryId !== 'string' || entry.entryId === '')
      throw new Error('bulk delivery entry without an entryId');
  }
  return value as BulkEnvelope;
}

function contractViolation(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const fields = issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  return `does not match its contract (${fields.join('; ')})`.slice(0, 1000);
}

/**
 * A consumer span for one delivered event, continuing its publisher's trace (from `base`, the active
 * context by default, when the event carries none).
 */
export function startConsumerSpan(
  topic: string,
  cloudEvent: Pick<CloudEvent, 'id' | 'data' | 'traceparent' | 'tracestate'>,
  consumer: string,
  extra: Record<string, number> = {},
  base: Context = context.active(),
): Span {
  return tracer().startSpan(
    `${topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.message.id': cloudEvent.id,
        'messaging.consumer.group.name': consumer,
        ...extra,
        ...reservationAttribute(cloudEvent.data),
      },
    },
    contextFromTraceparent(cloudEvent.traceparent, cloudEvent.tracestate, base),
  );
}

function reservationAttribute(data: unknown): Record<string, string> {
  const id = reservationOf(data);
  return id === undefined ? {} : { [SpanAttribute.reservationId]: id };
}

/** The reservation an event belongs to (its partition key), when it names one. */
function reservationOf(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && 'reservationId' in data) {
    const id = (data as { reservationId: unknown }).reservationId;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

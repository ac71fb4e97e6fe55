// The subscribing side of the Dapr app contract, served by hono (not the SDK's DaprServer, which
// acknowledges a delivery as SUCCESS even when the handler throws).
//
// Dapr asks `GET /dapr/subscribe` which topics to deliver where, then POSTs each CloudEvent to the
// route. The answer decides its fate:
//   200 {"status":"SUCCESS"}  handled
//   200 {"status":"RETRY"}    transient failure: the Resiliency policy retries, then dead-letters
//   200 {"status":"DROP"}     can never succeed (schema-invalid, PermanentError): dead-letter topic
import { DEAD_LETTER_TOPIC, type EventOf, events, isTopic, type Topic } from '@reservex/contracts';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import {
  contextFromTraceparent,
  logger as processLogger,
  recordError,
  SpanAttribute,
  SpanKind,
  SpanStatusCode,
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

export type EventHandler<T extends Topic> = (event: EventOf<T>, ctx: DeliveryContext) => Promise<void> | void;

/** A dead-lettered CloudEvent: what failed, where it was headed, and its raw payload. */
export type DeadLetter = {
  id: string;
  /** The topic the event was originally published to (its CloudEvent type). */
  originalTopic: string | undefined;
  source: string | undefined;
  data: unknown;
  cloudEvent: CloudEvent;
};

export type DeadLetterHandler = (letter: DeadLetter, ctx: DeliveryContext) => Promise<void> | void;

export type DeliveryStatus = 'SUCCESS' | 'RETRY' | 'DROP';

export type Subscription = {
  pubsubname: string;
  topic: string;
  route: string;
  deadLetterTopic?: string;
  metadata?: Record<string, string>;
};

export type SubscriberOptions = {
  pubsubName: string;
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

  function register(
    topic: string,
    subscription: Subscription,
    deliver: (cloudEvent: CloudEvent, ctx: DeliveryContext) => Promise<DeliveryStatus>,
  ) {
    if (subscriptions.has(topic))
      throw new Error(`createSubscriber: a handler for ${topic} is already registered`);
    subscriptions.set(topic, subscription);
    app.post(subscription.route, async (c) => {
      if (draining) return c.json({ status: 'RETRY' satisfies DeliveryStatus }, 200);
      inFlight++;
      try {
        const text = await c.req.text();
        let cloudEvent: CloudEvent;
        try {
          cloudEvent = parseCloudEvent(text);
        } catch (error) {
          log.warn({ err: error, topic }, 'undecodable delivery dropped');
          return c.json({ status: 'DROP' satisfies DeliveryStatus }, 200);
        }
        const ctx: DeliveryContext = {
          id: cloudEvent.id,
          topic,
          source: cloudEvent.source,
          time: cloudEvent.time,
          traceparent: cloudEvent.traceparent,
          tracestate: cloudEvent.tracestate,
          consumer: options.consumer,
          cloudEvent,
          log: log.child({ topic, event_id: cloudEvent.id }),
        };
        const status = await consume(topic, cloudEvent, ctx, deliver);
        return c.json({ status }, 200);
      } finally {
        inFlight--;
        if (inFlight === 0) idle?.();
      }
    });
  }

  /** Runs one delivery inside a consumer span continuing the publisher's trace. */
  async function consume(
    topic: string,
    cloudEvent: CloudEvent,
    ctx: DeliveryContext,
    deliver: (cloudEvent: CloudEvent, ctx: DeliveryContext) => Promise<DeliveryStatus>,
  ): Promise<DeliveryStatus> {
    const parent = contextFromTraceparent(cloudEvent.traceparent, cloudEvent.tracestate);
    return tracer().startActiveSpan(
      `${topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.message.id': cloudEvent.id,
          'messaging.consumer.group.name': options.consumer,
          ...reservationAttribute(cloudEvent.data),
        },
      },
      parent,
      async (span) => {
        try {
          const status = await deliver(cloudEvent, { ...ctx, log: ctx.log });
          span.setAttribute('reservex.delivery.status', status);
          if (status !== 'SUCCESS') span.setStatus({ code: SpanStatusCode.ERROR, message: status });
          return status;
        } catch (error) {
          recordError(span, error);
          if (error instanceof PermanentError) {
            ctx.log.error({ err: error }, 'event rejected permanently; dead-lettering');
            span.setAttribute('reservex.delivery.status', 'DROP');
            return 'DROP';
          }
          ctx.log.warn({ err: error }, 'handler failed; asking for redelivery');
          span.setAttribute('reservex.delivery.status', 'RETRY');
          return 'RETRY';
        } finally {
          span.end();
        }
      },
    );
  }

  return {
    /**
     * Handles `topic`. The payload is validated against its contract first: an invalid one never
     * reaches the handler and is dead-lettered. Throw PermanentError to dead-letter, anything else
     * to have the delivery retried.
     */
    on<T extends Topic>(topic: T, handler: EventHandler<T>) {
      if (!isTopic(topic)) throw new Error(`createSubscriber: unknown topic ${topic}`);
      register(
        topic,
        { pubsubname: options.pubsubName, topic, route: route(topic), deadLetterTopic },
        async (cloudEvent, ctx) => {
          const parsed = events[topic].safeParse(cloudEvent.data);
          if (!parsed.success) {
            ctx.log.error(
              { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
              'event does not match its contract; dead-lettering',
            );
            return 'DROP';
          }
          await handler(parsed.data as EventOf<T>, ctx);
          return 'SUCCESS';
        },
      );
      return this;
    },

    /**
     * Consumes the dead-letter topic itself (for listing and replay). It has no dead-letter topic
     * of its own; a throwing handler is retried.
     */
    onDeadLetter(handler: DeadLetterHandler) {
      register(
        deadLetterTopic,
        { pubsubname: options.pubsubName, topic: deadLetterTopic, route: route(deadLetterTopic) },
        async (cloudEvent, ctx) => {
          await handler(
            {
              id: cloudEvent.id,
              originalTopic:
                cloudEvent.type && cloudEvent.type !== deadLetterTopic ? cloudEvent.type : undefined,
              source: cloudEvent.source,
              data: cloudEvent.data,
              cloudEvent,
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
  const value: unknown = JSON.parse(text);
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

function reservationAttribute(data: unknown): Record<string, string> {
  if (typeof data === 'object' && data !== null && 'reservationId' in data) {
    const id = (data as { reservationId: unknown }).reservationId;
    if (typeof id === 'string') return { [SpanAttribute.reservationId]: id };
  }
  return {};
}

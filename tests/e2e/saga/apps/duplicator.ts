// A test app that makes the bus deliver every saga event twice: it consumes every topic (its own
// consumer group) and publishes each event once more with the same CloudEvent id, partition key and
// trace context. Its own copies come back to it and are recognised by id, so nothing loops.
// DUPLICATE_PER_MILLE copies only that share of the events (chosen by their ids; all by default).
import { createHash } from 'node:crypto';
import { SIGNATURE_ATTRIBUTE, topics } from '@reservex/contracts';
import { baseConfigShape, intFromString, loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createSubscriber } from '@reservex/platform/events';
import { createApp, serve } from '@reservex/platform/http';
import type { BlankEnv } from 'hono/types';

const config = loadConfig({
  ...baseConfigShape,
  DUPLICATE_PER_MILLE: intFromString({ min: 0, max: 1000 }).default(1000),
});

/** Whether the event with this id is one of the share copied: the same answer on every delivery. */
function chosen(id: string): boolean {
  return createHash('sha256').update(id).digest().readUInt16BE(0) % 1000 < config.DUPLICATE_PER_MILLE;
}
const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  timeoutMs: config.DAPR_TIMEOUT_MS,
});
const app = createApp<BlankEnv>({
  serviceName: config.SERVICE_NAME,
  readiness: { dapr: () => dapr.ready() },
});

const copied = new Map<string, string>();
const subscriber = createSubscriber(app, { pubsubName: config.PUBSUB_NAME, consumer: config.SERVICE_NAME });
for (const topic of topics) {
  subscriber.on(topic, async (event, delivery) => {
    if (copied.has(delivery.id) || !chosen(delivery.id)) return;
    // The same CloudEvent again, its publisher's signature included: a redelivery, not a forgery.
    const signature = delivery.cloudEvent[SIGNATURE_ATTRIBUTE];
    await dapr.publish(config.PUBSUB_NAME, topic, delivery.cloudEvent.data ?? event, {
      id: delivery.id,
      ...(typeof signature === 'string'
        ? { extensions: { [SIGNATURE_ATTRIBUTE]: signature }, source: delivery.source ?? topic }
        : {}),
      partitionKey: event.reservationId,
      ...(delivery.traceparent ? { traceparent: delivery.traceparent } : {}),
      ...(delivery.tracestate ? { tracestate: delivery.tracestate } : {}),
    });
    copied.set(delivery.id, topic);
  });
}

/** What was copied, per topic: the test checks the duplicates were really sent. */
app.get('/copies', (c) => {
  const perTopic: Record<string, number> = {};
  for (const topic of copied.values()) perTopic[topic] = (perTopic[topic] ?? 0) + 1;
  return c.json({ total: copied.size, perTopic });
});

serve(app, { port: config.PORT, host: config.HOST, onShutdown: [() => subscriber.drain()] });

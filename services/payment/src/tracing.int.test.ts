// Telemetry is tested, not assumed: a charge runs in a span named for its saga step and reservation,
// inside the trace of the delivery that caused it, and the event it publishes carries that trace on.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { type InProcessSandbox, inProcessSandbox } from '@reservex/card-sandbox/testing';
import { ensureDatabase } from '@reservex/local';
import { outbox } from '@reservex/platform/outbox';
import {
  context,
  type Span,
  startTelemetry,
  type Telemetry,
  trace,
  traceIdOf,
  tracer,
  withSpan,
} from '@reservex/platform/telemetry';
import { batchEntry, withMigratedDatabase } from '@reservex/platform/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { schema } from './db/schema.ts';
import { createHttpProvider } from './domain/http-provider.ts';
import { chargeInBatches, chargeReservation } from './events/stock-reserved.ts';

const exporter = new InMemorySpanExporter();
const it = withMigratedDatabase({
  name: 'payment_trace',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
  max: 2,
});
let telemetry: Telemetry;
let sandbox: InProcessSandbox;

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'payment',
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  sandbox = await inProcessSandbox({
    databaseUrl: await ensureDatabase(inject('infra').postgres, `payment_trace_sandbox_${Date.now()}`),
  });
});

function stockReserved(reservationId: string) {
  return {
    schemaVersion: 1 as const,
    reservationId,
    occurredAt: new Date().toISOString(),
    userId: 'buyer-1',
    showId: randomUUID(),
    ticketTypeId: randomUUID(),
    quantity: 1,
    unitPriceMinor: 1000,
    amountMinor: 1000,
    currency: 'EUR',
    paymentMethod: { token: 'tok_success' },
  };
}

afterAll(async () => {
  await sandbox?.close();
  await telemetry?.shutdown();
});

it('charges inside a span with saga.step and reservation.id, and carries the trace into the outbox', async ({
  database,
}) => {
  const reservationId = randomUUID();
  const charge = chargeReservation({
    db: database.db,
    provider: createHttpProvider({ name: 'sandbox', ...sandbox }),
    retry: { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 },
  });
  const traceId = await withSpan('stock.reserved process', {}, async (span) => {
    await charge(stockReserved(reservationId), { id: randomUUID() });
    return span.spanContext().traceId;
  });
  await telemetry.flush();

  const chargeSpan = exporter.getFinishedSpans().find((span) => span.name === 'payment charge');
  expect(chargeSpan?.attributes).toMatchObject({ 'saga.step': 'payment', 'reservation.id': reservationId });
  expect(chargeSpan?.spanContext().traceId).toBe(traceId);

  const [published] = await database.db.select().from(outbox).where(eq(outbox.partitionKey, reservationId));
  expect(published?.topic).toBe('payment.completed');
  expect(traceIdOf(published?.traceparent)).toBe(traceId);
});

it("a bulk delivery carries each event's own trace into the outbox", async ({ database }) => {
  const charge = chargeInBatches({
    db: database.db,
    provider: createHttpProvider({ name: 'sandbox', ...sandbox }),
    retry: { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 },
  });
  // Two events of one delivery, each from its own publisher's trace.
  const deliveries = [randomUUID(), randomUUID()].map((reservationId) => {
    const span = tracer().startSpan('stock.reserved process');
    const entry = batchEntry('stock.reserved', stockReserved(reservationId));
    return {
      reservationId,
      span,
      entry: {
        ...entry,
        within: <R>(fn: (active: Span) => R): R =>
          context.with(trace.setSpan(context.active(), span), () => fn(span)),
      },
    };
  });
  await charge(deliveries.map(({ entry }) => entry));

  for (const { reservationId, span } of deliveries) {
    span.end();
    const [published] = await database.db.select().from(outbox).where(eq(outbox.partitionKey, reservationId));
    expect(published?.topic).toBe('payment.completed');
    expect(traceIdOf(published?.traceparent)).toBe(span.spanContext().traceId);
  }
});

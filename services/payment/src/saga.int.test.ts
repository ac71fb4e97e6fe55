// The payment participant against a real Postgres: any interleaving and duplication of its input
// events (stock.reserved, reservation.cancelled) keeps its invariants — at most one capture per
// reservation, never a charge after a cancel, a refund only of a capture and at most one — and,
// with the real sidecar and Kafka, an event delivered twice charges once.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type InProcessSandbox, inProcessSandbox } from '@reservex/card-sandbox/testing';
import type { EventOf } from '@reservex/contracts';
import { ownerOf, type Topic } from '@reservex/contracts';
import {
  cardSandboxApp,
  databaseUrl,
  deliveredBy,
  ensureDatabase,
  paymentProviderEnv,
  probeApp,
  publishAs,
  type StartedApps,
  startApps,
} from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import { outbox } from '@reservex/platform/outbox';
import { batchEntry, inboxed, withMigratedDatabase } from '@reservex/platform/testing';
import { eq, inArray, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { hc } from 'hono/client';
import { afterAll, beforeAll, describe, expect, inject, vi } from 'vitest';
import type { createPaymentApp } from './app.ts';
import { findPayment, insertIntent, type PaymentDb } from './db/payments.ts';
import { cancellations, payments, refunds, schema } from './db/schema.ts';
import { createHttpProvider } from './domain/http-provider.ts';
import { refundCancelledReservation, refundInBatches } from './events/reservation-cancelled.ts';
import { chargeInBatches, chargeReservation } from './events/stock-reserved.ts';
import { resolveUnfinished } from './resolver.ts';

const infra = inject('infra');
type PaymentApp = ReturnType<typeof createPaymentApp>;
const it = withMigratedDatabase({
  name: 'payment_int',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
});
const sandboxes: InProcessSandbox[] = [];

afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
});

/** The card sandbox (its own ledger database) and payment's provider talking to it. */
async function sandbox(options: { slowResponseMs: number; flakyFailures: number }) {
  const name = `payment_int_sandbox_${Date.now()}_${sandboxes.length}`;
  const started = await inProcessSandbox({
    databaseUrl: await ensureDatabase(infra.postgres, name),
    ...options,
  });
  sandboxes.push(started);
  const provider = createHttpProvider({
    name: 'sandbox',
    baseUrl: started.baseUrl,
    apiKey: started.apiKey,
    fetch: started.fetch,
  });
  return { provider, ledger: started.ledger };
}

function stockReserved(reservationId: string, token: string): EventOf<'stock.reserved'> {
  return {
    schemaVersion: 1,
    reservationId,
    occurredAt: new Date().toISOString(),
    userId: 'buyer-1',
    showId: randomUUID(),
    ticketTypeId: randomUUID(),
    quantity: 2,
    unitPriceMinor: 2500,
    amountMinor: 5000,
    currency: 'EUR',
    paymentMethod: { token },
  };
}

function reservationCancelled(of: EventOf<'stock.reserved'>): EventOf<'reservation.cancelled'> {
  const { unitPriceMinor: _u, amountMinor: _a, currency: _c, paymentMethod: _p, ...booking } = of;
  return { ...booking, occurredAt: new Date().toISOString(), reason: 'USER_CANCELLED', failedStep: 'user' };
}

async function outboxCount(db: PaymentDb, reservationId: string, topic: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(outbox)
    .where(sql`${outbox.partitionKey} = ${reservationId} and ${outbox.topic} = ${topic}`);
  return row!.n;
}

/** What a process killed after recording the intent to charge leaves behind. */
async function leaveIntent(db: PaymentDb, reserved: EventOf<'stock.reserved'>) {
  const { paymentMethod, unitPriceMinor: _u, occurredAt: _o, schemaVersion: _s, ...booking } = reserved;
  await db.transaction((tx) =>
    insertIntent(tx, { ...booking, provider: 'sandbox', paymentToken: paymentMethod.token }),
  );
}

type Delivery = { kind: 'reserved' | 'cancelled'; eventId: string };

describe('payment participant (real Postgres)', () => {
  it('keeps its invariants under any interleaving and duplication of its events, alone or in bulk', async ({
    database,
  }) => {
    const { db } = database;
    const { provider, ledger } = await sandbox({ slowResponseMs: 5, flakyFailures: 1 });
    const retry = { retries: 2, minTimeoutMs: 1, attemptTimeoutMs: 500 };
    const charge = chargeReservation({ db, provider, retry });
    const refund = refundCancelledReservation({ db, provider, retry });
    const chargeBulk = chargeInBatches({ db, provider, retry });
    const refundBulk = refundInBatches({ db, provider, retry });

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('tok_success', 'tok_declined', 'tok_processor_flaky', 'tok_slow'),
        fc.boolean(),
        // One event per delivery, or bulk deliveries (one per topic of each concurrent batch).
        fc.boolean(),
        // Each delivery: which event, whether it reuses the first CloudEvent id (redelivery) or is
        // a republication with a new id; then the deliveries are grouped into concurrent batches.
        fc.array(fc.record({ kind: fc.constantFrom('reserved', 'cancelled'), redelivery: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
        async (token, withCancel, bulk, picks, batchSizes) => {
          const reservationId = randomUUID();
          const reserved = stockReserved(reservationId, token);
          const cancelled = reservationCancelled(reserved);
          const firstIds = { reserved: randomUUID(), cancelled: randomUUID() };
          const deliveries: Delivery[] = picks
            .filter((pick) => withCancel || pick.kind === 'reserved')
            .map((pick) => ({
              kind: pick.kind,
              eventId: pick.redelivery ? firstIds[pick.kind] : randomUUID(),
            }));
          if (!deliveries.some((d) => d.kind === 'reserved'))
            deliveries.push({ kind: 'reserved', eventId: firstIds.reserved });
          if (withCancel && !deliveries.some((d) => d.kind === 'cancelled')) {
            deliveries.push({ kind: 'cancelled', eventId: firstIds.cancelled });
          }
          const deliver = (d: Delivery) =>
            d.kind === 'reserved'
              ? charge(reserved, { id: d.eventId })
              : refund(cancelled, { id: d.eventId });

          // Batches run one after the other; the deliveries inside a batch run concurrently.
          let cancelDone = false;
          let chargeBeganBeforeCancel = false;
          let rest = deliveries;
          for (const size of [...batchSizes, deliveries.length]) {
            if (rest.length === 0) break;
            const batch = rest.slice(0, size);
            rest = rest.slice(size);
            if (!cancelDone && batch.some((d) => d.kind === 'reserved')) chargeBeganBeforeCancel = true;
            if (bulk) {
              const ofKind = (kind: Delivery['kind']) => batch.filter((d) => d.kind === kind);
              await Promise.all([
                ofKind('reserved').length > 0 &&
                  chargeBulk(
                    ofKind('reserved').map((d) => batchEntry('stock.reserved', reserved, d.eventId)),
                  ),
                ofKind('cancelled').length > 0 &&
                  refundBulk(
                    ofKind('cancelled').map((d) => batchEntry('reservation.cancelled', cancelled, d.eventId)),
                  ),
              ]);
            } else {
              await Promise.all(batch.map(deliver));
            }
            if (batch.some((d) => d.kind === 'cancelled')) cancelDone = true;
          }

          const rows = await db.select().from(payments).where(eq(payments.reservationId, reservationId));
          const refundRows = await db.select().from(refunds).where(eq(refunds.reservationId, reservationId));
          expect(rows.length).toBeLessThanOrEqual(1);
          expect(refundRows.length).toBeLessThanOrEqual(1);
          const payment = rows[0];
          // Refund only of a capture.
          if (refundRows.length === 1) {
            expect(payment?.status).toBe('refunded');
            expect(payment?.providerChargeId).toBeTruthy();
          }
          // A cancelled reservation keeps no money, and one cancelled first is never charged.
          if (withCancel) expect(payment?.status ?? 'none').not.toBe('captured');
          if (withCancel && !chargeBeganBeforeCancel) expect(payment).toBeUndefined();
          // Events published match the effects, once each.
          const captured = payment?.status === 'captured' || payment?.status === 'refunded';
          expect(await outboxCount(db, reservationId, 'payment.completed')).toBe(captured ? 1 : 0);
          expect(await outboxCount(db, reservationId, 'payment.failed')).toBe(
            payment?.status === 'failed' ? 1 : 0,
          );
          expect(await outboxCount(db, reservationId, 'payment.refunded')).toBe(refundRows.length);
          // The provider's own ledger agrees: at most one capture, refunded when payment says so.
          const charged = (await ledger(reservationId)).filter((entry) => entry.status === 'captured');
          expect(charged.length).toBe(captured ? 1 : 0);
          expect(charged.filter((entry) => entry.refund).length).toBe(refundRows.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never charges a reservation whose cancel was handled first (tombstone)', async ({ database }) => {
    const { db } = database;
    const { provider, ledger } = await sandbox({ slowResponseMs: 5, flakyFailures: 0 });
    const retry = { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 };
    const charge = chargeReservation({ db, provider, retry });
    const refund = refundCancelledReservation({ db, provider, retry });
    const reserved = stockReserved(randomUUID(), 'tok_success');
    await refund(reservationCancelled(reserved), { id: randomUUID() });
    expect(await charge(reserved, { id: randomUUID() })).toBe('handled');
    expect(await findPayment(db, reserved.reservationId)).toBeUndefined();
    expect(await ledger(reserved.reservationId)).toEqual([]);
  });

  it('writes nothing for the cancel of a saga the stock refused; any other cancel leaves its tombstone', async ({
    database,
  }) => {
    const { db } = database;
    const { provider } = await sandbox({ slowResponseMs: 5, flakyFailures: 0 });
    const refundBulk = refundInBatches({
      db,
      provider,
      retry: { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 },
    });
    const soldOut = {
      ...reservationCancelled(stockReserved(randomUUID(), 'tok_success')),
      reason: 'SOLD_OUT' as const,
      failedStep: 'stock' as const,
    };
    const expired = {
      ...reservationCancelled(stockReserved(randomUUID(), 'tok_success')),
      reason: 'EXPIRED' as const,
      failedStep: 'expiry' as const,
    };
    const refundOne = refundCancelledReservation({
      db,
      provider,
      retry: { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 },
    });
    expect(await refundOne(soldOut, { id: randomUUID() })).toBe('handled');
    await refundBulk([batchEntry('reservation.cancelled', soldOut)]);
    const mine = inArray(cancellations.reservationId, [soldOut.reservationId, expired.reservationId]);
    expect(await db.select().from(cancellations).where(mine)).toEqual([]);
    const entries = [
      batchEntry('reservation.cancelled', soldOut),
      batchEntry('reservation.cancelled', expired),
    ];
    await refundBulk(entries);
    const tombstones = await db.select({ id: cancellations.reservationId }).from(cancellations).where(mine);
    expect(tombstones.map((row) => row.id)).toEqual([expired.reservationId]);
    const ids = entries.map((entry) => entry.ctx.id);
    expect(await inboxed(db, ids)).toEqual([ids[1]]);
  });

  it('refunds a capture whose cancel raced it, exactly once', async ({ database }) => {
    const { db } = database;
    const { provider, ledger } = await sandbox({ slowResponseMs: 150, flakyFailures: 0 });
    const retry = { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 2000 };
    const charge = chargeReservation({ db, provider, retry });
    const refund = refundCancelledReservation({ db, provider, retry });
    const reserved = stockReserved(randomUUID(), 'tok_slow');
    const charging = charge(reserved, { id: randomUUID() });
    // The cancel arrives once the charge is under way: its intent recorded, the provider still answering.
    await expect
      .poll(() => findPayment(db, reserved.reservationId), { timeout: 5000, interval: 5 })
      .toBeDefined();
    await Promise.all([charging, refund(reservationCancelled(reserved), { id: randomUUID() })]);
    const payment = await findPayment(db, reserved.reservationId);
    expect(payment?.status).toBe('refunded');
    expect(payment?.refund?.amountMinor).toBe(5000);
    expect(await ledger(reserved.reservationId)).toMatchObject([
      { status: 'captured', amountMinor: 5000, refund: { amountMinor: 5000 } },
    ]);
  });

  it('resolves an intent a crash left behind with the provider’s original charge, once', async ({
    database,
  }) => {
    const { db } = database;
    const { provider, ledger } = await sandbox({ slowResponseMs: 5, flakyFailures: 0 });
    const retry = { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 };
    const charge = chargeReservation({ db, provider, retry });
    const reserved = stockReserved(randomUUID(), 'tok_success');
    const { reservationId } = reserved;
    // What a process killed between the provider's answer and its record leaves: the intent, and a
    // capture at the provider that payment has not recorded.
    await leaveIntent(db, reserved);
    const first = await provider.charge(
      {
        idempotencyKey: reservationId,
        amountMinor: 5000,
        currency: 'EUR',
        paymentToken: 'tok_success',
        reference: reservationId,
      },
      AbortSignal.timeout(1000),
    );
    expect(await findPayment(db, reservationId)).toBeUndefined();

    await charge(reserved, { id: randomUUID() });
    expect(await findPayment(db, reservationId)).toMatchObject({
      status: 'captured',
      providerChargeId: first.status === 'captured' ? first.chargeId : 'not captured',
      paymentToken: null,
    });
    expect(await ledger(reservationId)).toHaveLength(1);
    expect(await outboxCount(db, reservationId, 'payment.completed')).toBe(1);
  });

  it('settles in the background what no delivery comes back for: an intent, an owed refund', async ({
    database,
  }) => {
    const { db } = database;
    const { provider, ledger } = await sandbox({ slowResponseMs: 5, flakyFailures: 0 });
    const deps = { db, provider, retry: { retries: 0, minTimeoutMs: 1, attemptTimeoutMs: 500 } };
    const reserved = stockReserved(randomUUID(), 'tok_success');
    const { reservationId } = reserved;
    await leaveIntent(db, reserved);
    await db
      .insert(cancellations)
      .values({ reservationId, reason: 'USER_CANCELLED', cancelledAt: new Date() });

    const settled = await resolveUnfinished(deps, { afterMs: 0, batch: 1000 });
    expect(settled.charges).toBeGreaterThanOrEqual(1);
    expect(await findPayment(db, reservationId)).toMatchObject({ status: 'refunded' });
    expect(await ledger(reservationId)).toMatchObject([
      { status: 'captured', refund: { amountMinor: 5000 } },
    ]);
    expect(await outboxCount(db, reservationId, 'payment.completed')).toBe(1);
    expect(await outboxCount(db, reservationId, 'payment.refunded')).toBe(1);
  });

  it('ends a processor that never answers in payment.failed PROCESSOR_ERROR', async ({ database }) => {
    const { db } = database;
    const { provider } = await sandbox({ slowResponseMs: 5, flakyFailures: 0 });
    const charge = chargeReservation({
      db,
      provider,
      retry: { retries: 2, minTimeoutMs: 1, attemptTimeoutMs: 200 },
    });
    const reserved = stockReserved(randomUUID(), 'tok_processor_error');
    await charge(reserved, { id: randomUUID() });
    expect(await findPayment(db, reserved.reservationId)).toMatchObject({
      status: 'failed',
      failureReason: 'PROCESSOR_ERROR',
    });
    expect(await outboxCount(db, reserved.reservationId, 'payment.failed')).toBe(1);
  });
});

describe('payment service with its sidecar (real daprd, Kafka)', () => {
  // The topics' owners stand in as probes: only a topic's owner may publish it.
  let started: StartedApps<'payment' | 'inventory' | 'reservation'>;
  let provider: StartedApps<'card-sandbox'>;
  const dbName = 'payment_int_dapr';

  beforeAll(async () => {
    provider = await startApps({
      infra,
      apps: [cardSandboxApp({ database: 'payment_int_dapr_sandbox', env: { SANDBOX_SLOW_MS: '50' } })],
    });
    started = await startApps({
      infra,
      apps: [
        {
          appId: 'payment',
          args: ['services/payment/src/main.ts'],
          database: dbName,
          env: paymentProviderEnv(provider.apps['card-sandbox']),
          readyTimeoutMs: 120_000,
        },
        ...(['inventory', 'reservation'] as const).map((appId) => ({
          appId,
          args: [probeApp],
          readyTimeoutMs: 120_000,
        })),
      ],
    });
  });

  afterAll(async () => {
    await started?.stop();
    await provider?.stop();
  });

  async function publish(topic: Topic, data: unknown, eventId: string) {
    const response = await publishAs(
      started.apps[ownerOf(topic) as 'inventory' | 'reservation'],
      infra.dapr.components.pubsub,
      topic,
      data,
      {
        'cloudevent.id': eventId,
        partitionKey: (data as { reservationId: string }).reservationId,
      },
    );
    expect(response.status).toBe(204);
  }

  /** The buyer's payment through hono's typed client, as payment's sidecar delivers the gateway's call. */
  const paymentApi = (headers: Record<string, string> = {}) =>
    hc<PaymentApp>(started.apps.payment.url, {
      headers: { ...deliveredBy(started.apps.payment), ...headers },
    }).v1.payments[':reservationId'];
  const paymentOf = (reservationId: string, userId = 'buyer-1') =>
    paymentApi({ 'x-user-id': userId }).$get({ param: { reservationId } });

  /** The buyer's payment once it has `status`. */
  const paymentOnce = (reservationId: string, status: string) =>
    vi.waitFor(
      async () => {
        const body = (await (await paymentOf(reservationId)).json()) as { status?: string };
        expect(body.status).toBe(status);
        return body;
      },
      { timeout: 30_000, interval: 250 },
    );

  it('charges once and refunds once when every event is delivered twice', async () => {
    const reserved = stockReserved(randomUUID(), 'tok_success');
    const firstId = randomUUID();
    await publish('stock.reserved', reserved, firstId);
    await publish('stock.reserved', reserved, firstId);
    await publish('stock.reserved', reserved, randomUUID());

    const charged = await paymentOnce(reserved.reservationId, 'captured');
    expect(charged).toMatchObject({ status: 'captured', amountMinor: 5000, currency: 'EUR', refund: null });

    const cancelled = reservationCancelled(reserved);
    const cancelId = randomUUID();
    await publish('reservation.cancelled', cancelled, cancelId);
    await publish('reservation.cancelled', cancelled, cancelId);
    await publish('reservation.cancelled', cancelled, randomUUID());
    const refunded = await paymentOnce(reserved.reservationId, 'refunded');
    expect(refunded).toMatchObject({ status: 'refunded', refund: { amountMinor: 5000 } });

    // A window, not a condition: any straggling duplicate arrives, then effects and events are counted.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const check = createDatabase(databaseUrl(infra.postgres, dbName), schema, { max: 1 });
    try {
      const rows = await check.db
        .select()
        .from(payments)
        .where(eq(payments.reservationId, reserved.reservationId));
      expect(rows).toHaveLength(1);
      const published = await check.db
        .select({ topic: outbox.topic })
        .from(outbox)
        .where(eq(outbox.partitionKey, reserved.reservationId));
      expect(published.map((row) => row.topic).sort()).toEqual(['payment.completed', 'payment.refunded']);
    } finally {
      await check.close();
    }
  });

  it('answers only the buyer, and bad input with problem+json', async () => {
    const reserved = stockReserved(randomUUID(), 'tok_declined');
    await publish('stock.reserved', reserved, randomUUID());
    const failed = await paymentOnce(reserved.reservationId, 'failed');
    expect(failed).toMatchObject({ status: 'failed', failureReason: 'DECLINED' });

    const someoneElse = await paymentOf(reserved.reservationId, 'buyer-2');
    expect(someoneElse.status).toBe(404);
    expect(someoneElse.headers.get('content-type')).toContain('application/problem+json');

    const anonymous = await paymentApi().$get({ param: { reservationId: reserved.reservationId } });
    expect(anonymous.status).toBe(401);

    const malformed = await paymentOf('not-a-uuid');
    expect(malformed.status).toBe(422);
    expect(await malformed.json()).toMatchObject({ errors: [{ path: 'reservationId' }] });
  });
});

// Every path of the booking saga on the real local stack: inventory, reservation, payment, ticket and
// query, each with its own daprd, over real Kafka, Redis, Postgres and Jaeger. After each path the
// participants agree: the reservation's status, the stock, the payment, the tickets and the read
// model. Holds expire after HOLD_TTL_SECONDS here, so the expiry path takes seconds.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  type Buyer,
  expectForwardTo,
  http,
  jaegerTrace,
  mintPass,
  type SagaStack,
  type Show,
  sagaSpans,
  startSagaStack,
} from './support.ts';

const infra = inject('infra');
const HOLD_TTL_SECONDS = 8;
let saga: SagaStack;

beforeAll(async () => {
  saga = await startSagaStack({
    infra,
    env: {
      reservation: {
        HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
        EXPIRY_SWEEP_INTERVAL_MS: '500',
        BODY_LIMIT_BYTES: '8192',
      },
      // The slow card answers well within the provider timeout: a saga paying with it stays in
      // AWAITING_PAYMENT for a few seconds, long enough for a dead letter to overtake it.
      payment: { PAYMENT_PROVIDER_TIMEOUT_MS: '10000' },
    },
    cardSandboxEnv: { SANDBOX_SLOW_MS: '3000' },
  });
  await saga.warmUp();
});
afterAll(() => saga?.stop());

const poll = { timeout: 30_000, interval: 250 };

/** Waits until the read model has caught up with the saga's end. */
/**
 * The read model of a saga once it shows `status` and each event of `seen` in its timeline: events of
 * one saga travel on different topics, so the status can be projected before another step's event.
 */
async function readModel(buyer: Buyer, id: string, status: string, seen: readonly string[] = []) {
  return vi.waitFor(async () => {
    const details = (await buyer.details(id)).body;
    expect(details?.status).toBe(status);
    expect(details.timeline.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining([...seen]));
    return details;
  }, poll);
}

async function settledStock(show: Show, expected: { available: number; held: number; sold: number }) {
  return vi.waitFor(async () => {
    const stock = await saga.admin.stock(show.showId);
    expect(stock).toMatchObject(expected);
    return stock;
  }, poll);
}

function expectInvariant(stock: { capacity: number; available: number; held: number; sold: number }) {
  expect(stock.capacity).toBe(stock.available + stock.held + stock.sold);
  expect(Math.min(stock.available, stock.held, stock.sold)).toBeGreaterThanOrEqual(0);
}

describe('the booking saga', () => {
  it('happy path: CONFIRMED, tickets valid, payment captured, read model complete, one trace across every step', async () => {
    const show = await saga.admin.createShow({ capacity: 10, priceMinor: 4500 });
    const buyer = saga.buyer();
    const id = await buyer.book(show, { quantity: 2 });

    const done = await buyer.outcome(id);
    expect(done.status).toBe('CONFIRMED');
    expectForwardTo(done.transitions, 'CONFIRMED');
    expectInvariant(await settledStock(show, { available: 8, held: 0, sold: 2 }));

    const payment = await buyer.payment(id);
    expect(payment.body).toMatchObject({
      status: 'captured',
      amountMinor: 9000,
      currency: 'EUR',
      refund: null,
    });

    const details = await readModel(buyer, id, 'CONFIRMED', [
      'reservation.created',
      'stock.reserved',
      'payment.completed',
      'ticket.issued',
      'reservation.confirmed',
    ]);
    expect(details).toMatchObject({
      quantity: 2,
      amountMinor: 9000,
      payment: { status: 'CAPTURED' },
      tickets: { status: 'ISSUED' },
      failure: null,
    });
    expect(details.tickets.ticketIds).toHaveLength(2);
    for (const ticketId of details.tickets.ticketIds) {
      expect((await buyer.ticket(ticketId)).body).toMatchObject({ status: 'valid', reservationId: id });
    }

    // One trace: the request, every participant's step and the read model's projection.
    expect(details.traceId).toBe(done.traceId);
    expect(done.traceId).toMatch(/^[\da-f]{32}$/);
    const wanted = ['reservation', 'inventory', 'payment', 'ticket', 'query'];
    const trace = await vi.waitFor(
      async () => {
        const found = await jaegerTrace(infra, done.traceId);
        expect(found, 'trace in Jaeger').toBeDefined();
        const spans = sagaSpans(found!, id);
        for (const service of wanted) expect(spans.map((span) => span.service)).toContain(service);
        expect(spans.map((span) => span.step)).toContain('stock.sell');
        return found!;
      },
      { timeout: 30_000, interval: 1000 },
    );
    const spans = sagaSpans(trace, id);
    expect([...new Set(spans.map((s) => s.service))].sort()).toEqual(expect.arrayContaining(wanted));
    const steps = new Set(spans.map((s) => s.step).filter(Boolean));
    for (const step of ['reservation.place', 'stock.hold', 'reservation.confirm', 'stock.sell'])
      expect(steps).toContain(step);
    expect(trace.spans.every((span) => span.traceID === done.traceId)).toBe(true);
  });

  it('sold out: CANCELLED(SOLD_OUT) at the stock step, nothing charged', async () => {
    const show = await saga.admin.createShow({ capacity: 1 });
    const first = saga.buyer();
    const firstId = await first.book(show);
    expect((await first.outcome(firstId)).status).toBe('CONFIRMED');

    const late = saga.buyer();
    const id = await late.book(show);
    expect(await late.outcome(id)).toMatchObject({
      status: 'CANCELLED',
      reason: 'SOLD_OUT',
      failedStep: 'stock',
    });
    expect((await late.payment(id)).status).toBe(404);
    const details = await readModel(late, id, 'CANCELLED');
    expect(details).toMatchObject({
      failure: { reason: 'SOLD_OUT', step: 'stock' },
      payment: null,
      tickets: null,
    });
    expectInvariant(await settledStock(show, { available: 0, held: 0, sold: 1 }));
  });

  it('payment declined: the hold is released, CANCELLED(PAYMENT_DECLINED)', async () => {
    const show = await saga.admin.createShow({ capacity: 5 });
    const buyer = saga.buyer();
    const id = await buyer.book(show, { quantity: 3, card: 'tok_declined' });
    expect(await buyer.outcome(id)).toMatchObject({
      status: 'CANCELLED',
      reason: 'PAYMENT_DECLINED',
      failedStep: 'payment',
    });
    expectInvariant(await settledStock(show, { available: 5, held: 0, sold: 0 }));
    expect((await buyer.payment(id)).body).toMatchObject({
      status: 'failed',
      failureReason: 'DECLINED',
      refund: null,
    });
    const details = await readModel(buyer, id, 'CANCELLED', ['stock.released']);
    expect(details.tickets).toBeNull();
  });

  it('ticket issuing fails: refund + release, CANCELLED(TICKET_FAILED)', async () => {
    const show = await saga.admin.createShow({ capacity: 5, priceMinor: 3000 });
    await saga.admin.lockIssuing(show.showId);
    const buyer = saga.buyer();
    const id = await buyer.book(show, { quantity: 2 });
    expect(await buyer.outcome(id)).toMatchObject({
      status: 'CANCELLED',
      reason: 'TICKET_FAILED',
      failedStep: 'ticket',
    });
    expectInvariant(await settledStock(show, { available: 5, held: 0, sold: 0 }));
    await expect
      .poll(async () => (await buyer.payment(id)).body, poll)
      .toMatchObject({
        status: 'refunded',
        amountMinor: 6000,
        refund: { amountMinor: 6000, currency: 'EUR' },
      });
    await expect
      .poll(async () => (await buyer.details(id)).body, poll)
      .toMatchObject({
        status: 'CANCELLED',
        failure: { reason: 'TICKET_FAILED', step: 'ticket' },
        payment: { status: 'REFUNDED' },
      });
  });

  it('hold expires before confirmation (payment is down): compensated, CANCELLED(EXPIRED), never charged afterwards', async () => {
    const show = await saga.admin.createShow({ capacity: 4 });
    const payment = saga.stack.apps.payment!;
    await payment.stop();
    // Its sidecar stops delivering once two health probes (1 s apart) fail; a delivery before that
    // would fail, be retried and dead-lettered, which is another path (the poison test's). The sidecar
    // does not show when it stopped, so this is a fixed wait.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    try {
      const buyer = saga.buyer();
      const id = await buyer.book(show, { quantity: 2 });
      await expect.poll(async () => (await buyer.reservation(id)).status, poll).toBe('AWAITING_PAYMENT');
      expect(await buyer.outcome(id, (HOLD_TTL_SECONDS + 30) * 1000)).toMatchObject({
        status: 'CANCELLED',
        reason: 'EXPIRED',
        failedStep: 'expiry',
      });
      expectInvariant(await settledStock(show, { available: 4, held: 0, sold: 0 }));
      await payment.restart();
      // Payment now sees stock.reserved and reservation.cancelled in either order: it must not keep
      // a charge (never charged, or refunded), and no ticket may stay valid.
      const settled = await vi.waitFor(async () => {
        const details = (await buyer.details(id)).body;
        expect(details?.status).toBe('CANCELLED');
        expect(details.timeline.map((e: { type: string }) => e.type)).toContain('stock.released');
        return details;
      }, poll);
      // A window, not a condition: no charge is kept while payment works through both events.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const charge = await buyer.payment(id);
      if (charge.status === 200) expect(charge.body.status).toBe('refunded');
      else expect(charge.status).toBe(404);
      for (const ticketId of (await buyer.details(id)).body.tickets?.ticketIds ?? []) {
        expect((await buyer.ticket(ticketId)).body.status).toBe('voided');
      }
      expect(settled.failure).toMatchObject({ reason: 'EXPIRED', step: 'expiry' });
    } finally {
      if (!payment.running()) await payment.restart();
    }
  });

  it('user cancels before confirmation: compensated, CANCELLED(USER_CANCELLED)', async () => {
    const show = await saga.admin.createShow({ capacity: 3 });
    const buyer = saga.buyer();
    // The slow card keeps the saga in AWAITING_PAYMENT long enough to cancel it there.
    const id = await buyer.book(show, { quantity: 2, card: 'tok_slow' });
    await expect.poll(async () => (await buyer.reservation(id)).status, poll).toBe('AWAITING_PAYMENT');
    const cancelled = await buyer.cancel(id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'CANCELLED',
      reason: 'USER_CANCELLED',
      failedStep: 'user',
    });
    expect((await buyer.cancel(id)).status).toBe(200);
    expectInvariant(await settledStock(show, { available: 3, held: 0, sold: 0 }));
    // The slow charge lands after the cancel: it is refunded, and no ticket is issued for it.
    await expect
      .poll(async () => {
        const payment = await buyer.payment(id);
        return [payment.status, payment.body?.status];
      }, poll)
      .toEqual([200, 'refunded']);
    expect((await buyer.outcome(id)).status).toBe('CANCELLED');
    const details = await readModel(buyer, id, 'CANCELLED');
    for (const ticketId of details.tickets?.ticketIds ?? [])
      expect((await buyer.ticket(ticketId)).body.status).toBe('voided');

    const confirmedBuyer = saga.buyer();
    const confirmed = await confirmedBuyer.book(show);
    expect((await confirmedBuyer.outcome(confirmed)).status).toBe('CONFIRMED');
    const tooLate = await confirmedBuyer.cancel(confirmed);
    expect([tooLate.status, tooLate.type]).toEqual([
      409,
      expect.stringContaining('application/problem+json'),
    ]);
  });

  it('a poison event is dead-lettered, listed for operators; its saga still ends, others are unaffected', async () => {
    const show = await saga.admin.createShow({ capacity: 10 });
    const victim = saga.buyer();
    const bystander = saga.buyer();
    const victimId = await victim.book(show, { card: 'tok_slow' });
    const bystanderId = await bystander.book(show);

    // A payment.completed no consumer can read (no paymentId, a negative amount) for the victim's saga.
    const poisonId = randomUUID();
    // Published by payment, the topic's owner (the pub/sub scopes refuse anyone else).
    const published = await saga.publishAs(
      'payment',
      'payment.completed',
      {
        schemaVersion: 1,
        reservationId: victimId,
        occurredAt: new Date().toISOString(),
        amountMinor: -1,
      },
      { 'cloudevent.id': poisonId, 'cloudevent.type': 'payment.completed', partitionKey: victimId },
    );
    expect(published.status).toBe(204);

    expect(await victim.outcome(victimId)).toMatchObject({
      status: 'CANCELLED',
      reason: 'REJECTED_EVENT',
      failedStep: 'delivery',
    });
    expect((await bystander.outcome(bystanderId)).status).toBe('CONFIRMED');
    expectInvariant(await settledStock(show, { available: 9, held: 0, sold: 1 }));

    const letters = await vi.waitFor(async () => {
      const items = await saga.admin.deadLetters();
      expect(items.map((l) => l.reservationId)).toContain(victimId);
      return items;
    }, poll);
    const letter = letters.find((l) => l.reservationId === victimId)!;
    expect(letter.originalTopic).toBe('payment.completed');
    // An operator cannot replay it as it is: it still does not match its contract.
    const replay = await saga.admin.replayDeadLetter(letter.id);
    expect([replay.status, replay.type]).toEqual([409, expect.stringContaining('application/problem+json')]);
    // The slow charge lands after the cancellation and is refunded; none stays captured.
    // (No payment at all, 404, is as good: nothing was charged.)
    const charge = await vi
      .waitFor(
        async () => {
          const payment = await victim.payment(victimId);
          expect([payment.status, payment.body?.status]).toEqual([200, 'refunded']);
          return payment;
        },
        { timeout: 20_000, interval: 250 },
      )
      .catch(() => victim.payment(victimId));
    expect(charge.status === 404 || charge.body.status === 'refunded').toBe(true);
    expect((await victim.reservation(victimId)).status).toBe('CANCELLED');
  });
});

describe('bad input never reaches the saga', () => {
  it('answers 400/404/413/422 as problem+json naming the field, never a 5xx', async () => {
    const show = await saga.admin.createShow({ capacity: 5, perOrderLimit: 3 });
    const user = `buyer-${randomUUID()}`;
    const base = {
      showId: show.showId,
      ticketTypeId: show.ticketTypeId,
      quantity: 1,
      paymentMethod: { token: 'tok_success' },
    };
    const post = async (body: unknown, passShow = show.showId) =>
      http(`${saga.url('reservation')}/v1/reservations`, {
        method: 'POST',
        headers: {
          'x-user-id': user,
          'idempotency-key': randomUUID(),
          'x-pass-token': await mintPass(user, passShow),
        },
        body,
      });
    const unknownShow = randomUUID();
    const cases: [string, Promise<Awaited<ReturnType<typeof post>>>, number, string?][] = [
      ['unknown show', post({ ...base, showId: unknownShow }, unknownShow), 404],
      ['unknown ticket type', post({ ...base, ticketTypeId: randomUUID() }), 404],
      ['quantity 0', post({ ...base, quantity: 0 }), 422, 'quantity'],
      ['negative quantity', post({ ...base, quantity: -1 }), 422, 'quantity'],
      ['non-integer quantity', post({ ...base, quantity: 2.5 }), 422, 'quantity'],
      ['quantity above the limit', post({ ...base, quantity: 4 }), 422, 'quantity'],
      ['malformed JSON', post('{"showId":'), 400],
      ['oversized body', post({ ...base, note: 'x'.repeat(10_000) }), 413],
    ];
    for (const [name, answer, status, field] of cases) {
      const { status: got, type, body } = await answer;
      expect(got, name).toBe(status);
      expect(type, name).toContain('application/problem+json');
      if (field) expect(JSON.stringify(body.errors), name).toContain(field);
    }
    const inventoryAnswers = await Promise.all([
      http(`${saga.url('inventory')}/v1/shows/${randomUUID()}`),
      http(`${saga.url('inventory')}/v1/shows/nope`),
    ]);
    expect(inventoryAnswers.map((a) => a.status)).toEqual([404, 422]);
    // None of these started a saga.
    expect(await saga.admin.stock(show.showId)).toMatchObject({ available: 5, held: 0, sold: 0 });
  });
});

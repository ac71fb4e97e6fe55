// Every event delivered twice: a duplicator app republishes each saga event with its CloudEvent id,
// so every consumer receives every event twice, the copy moments after the original. No participant
// may act twice: one hold, one charge, one set of tickets, one refund, one transition per step.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type Buyer, expectForwardTo, http, type SagaStack, type Show, startSagaStack } from './support.ts';

const infra = inject('infra');
const duplicator = fileURLToPath(new URL('./apps/duplicator.ts', import.meta.url));
let saga: SagaStack;

beforeAll(async () => {
  saga = await startSagaStack({
    infra,
    // The slow card answers after 8 s (payment waits for it): the window in which the cancelling
    // buyer cancels between the hold and the capture, however far reservation lags behind payment
    // (a stack also drains what earlier stacks left in the shared topics).
    env: { reservation: { HOLD_TTL_SECONDS: '120' }, payment: { PAYMENT_PROVIDER_TIMEOUT_MS: '20000' } },
    cardSandboxEnv: { SANDBOX_SLOW_MS: '8000' },
    extraApps: [{ appId: 'saga-duplicator', args: [duplicator], logLevel: 'warn', readyTimeoutMs: 180_000 }],
  });
  await saga.warmUp();
});
afterAll(() => saga?.stop());

type TimelineEntry = { eventId: string; type: string };

/** The read model once every event of the saga, `types`, has been projected. */
async function settledDetails(buyer: Buyer, id: string, types: string[]) {
  return vi.waitFor(
    async () => {
      const details = (await buyer.details(id)).body;
      const seen = (details?.timeline ?? []).map((e: TimelineEntry) => e.type);
      for (const type of types) expect(seen).toContain(type);
      return details;
    },
    { timeout: 45_000, interval: 250 },
  );
}

/** Each event type of the saga happened once: a second charge or issue would be a second event. */
function expectOnceEach(timeline: TimelineEntry[]) {
  const ids = timeline.map((e) => e.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  const types = timeline.map((e) => e.type);
  expect(types.length, types.join(', ')).toBe(new Set(types).size);
}

async function stockSettles(show: Show, expected: { available: number; held: number; sold: number }) {
  const stock = await vi.waitFor(
    async () => {
      const stock = await saga.admin.stock(show.showId);
      expect(stock).toMatchObject(expected);
      return stock;
    },
    { timeout: 30_000, interval: 250 },
  );
  expect(stock.capacity).toBe(stock.available + stock.held + stock.sold);
}

describe('every event delivered twice', () => {
  it('no double hold, charge, ticket or refund on any path', async () => {
    const show = await saga.admin.createShow({ capacity: 20, priceMinor: 2000 });
    const failing = await saga.admin.createShow({ capacity: 5, priceMinor: 2000 });
    await saga.admin.lockIssuing(failing.showId);

    const happy = [saga.buyer(), saga.buyer(), saga.buyer()];
    const declined = saga.buyer();
    const cancelling = saga.buyer();
    const ticketless = saga.buyer();
    const [h1, h2, h3, d, c, t] = await Promise.all([
      ...happy.map((b) => b.book(show, { quantity: 2 })),
      declined.book(show, { quantity: 2, card: 'tok_declined' }),
      cancelling.book(show, { quantity: 2, card: 'tok_slow' }),
      ticketless.book(failing, { quantity: 2 }),
    ]);
    await expect
      .poll(async () => (await cancelling.reservation(c!)).status, { timeout: 30_000, interval: 250 })
      .not.toBe('PENDING');
    expect((await cancelling.cancel(c!)).status).toBe(200);

    for (const [buyer, id] of happy.map((b, i) => [b, [h1, h2, h3][i]!] as const)) {
      const done = await buyer.outcome(id);
      expect(done.status).toBe('CONFIRMED');
      expectForwardTo(done.transitions, 'CONFIRMED');
      const details = await settledDetails(buyer, id, [
        'payment.completed',
        'ticket.issued',
        'reservation.confirmed',
      ]);
      expectOnceEach(details.timeline);
      expect(details.tickets.ticketIds).toHaveLength(2);
      for (const ticketId of details.tickets.ticketIds)
        expect((await buyer.ticket(ticketId)).body.status).toBe('valid');
      expect((await buyer.payment(id)).body).toMatchObject({
        status: 'captured',
        amountMinor: 4000,
        refund: null,
      });
    }

    expect(await declined.outcome(d!)).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expectOnceEach((await settledDetails(declined, d!, ['payment.failed', 'stock.released'])).timeline);

    expect(await ticketless.outcome(t!)).toMatchObject({ status: 'CANCELLED', reason: 'TICKET_FAILED' });
    const refunded = await settledDetails(ticketless, t!, [
      'ticket.issue.failed',
      'payment.refunded',
      'stock.released',
    ]);
    expectOnceEach(refunded.timeline);
    expect((await ticketless.payment(t!)).body).toMatchObject({
      status: 'refunded',
      refund: { amountMinor: 4000 },
    });

    expect(await cancelling.outcome(c!)).toMatchObject({ status: 'CANCELLED', reason: 'USER_CANCELLED' });
    const cancelled = await settledDetails(cancelling, c!, ['stock.released']);
    expectOnceEach(cancelled.timeline);
    const charge = await vi.waitFor(
      async () => {
        const payment = await cancelling.payment(c!);
        if (payment.status !== 404) expect(payment.body.status).toBe('refunded');
        return payment;
      },
      { timeout: 30_000, interval: 250 },
    );
    if (charge.status === 200) expect(charge.body.refund).toMatchObject({ amountMinor: 4000 });

    // Stock: three sales of two, everything else back on sale, exactly once each.
    await stockSettles(show, { available: 14, held: 0, sold: 6 });
    await stockSettles(failing, { available: 5, held: 0, sold: 0 });

    // And the duplicates really were sent, for every kind of event these sagas produced (the
    // duplicator may still be copying the last of them).
    await vi.waitFor(
      async () => {
        const copies = (await http(`${saga.stack.apps['saga-duplicator']!.url}/copies`)).body;
        for (const topic of [
          'reservation.created',
          'stock.reserved',
          'payment.completed',
          'payment.failed',
          'payment.refunded',
          'ticket.issued',
          'ticket.issue.failed',
          'reservation.confirmed',
          'reservation.cancelled',
          'stock.released',
        ]) {
          expect(copies.perTopic[topic] ?? 0, topic).toBeGreaterThan(0);
        }
      },
      { timeout: 30_000, interval: 250 },
    );
  });
});

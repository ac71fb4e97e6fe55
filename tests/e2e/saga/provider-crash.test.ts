// A crash of payment at the worst moment never charges twice. Payment is killed (with its sidecar,
// as a pod dies) after the card provider answered a charge and before payment recorded the answer:
// a fault switch holds it in that window, and the test kills it once the provider's own ledger shows
// the capture. Restarted, payment resolves its recorded intent with the same idempotency key; the
// saga ends CONFIRMED and the provider's ledger holds exactly one capture for the reservation.
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type SagaStack, startSagaStack } from './support.ts';

const infra = inject('infra');
let saga: SagaStack;

beforeAll(async () => {
  saga = await startSagaStack({
    infra,
    env: {
      payment: {
        // The window: a charge this process started waits here between the answer and its record.
        PAYMENT_FAULT_PAUSE_AFTER_CHARGE_MS: '120000',
        // The background resolver stays out of the window the test kills in.
        PAYMENT_RESOLVE_INTERVAL_MS: '1000',
        PAYMENT_RESOLVE_AFTER_MS: '20000',
      },
    },
  });
  // No warm-up: each fresh charge of this stack stops in the fault window.
});
afterAll(() => saga?.stop());

it('a payment killed between the provider’s answer and its record charges once, and the saga confirms', async () => {
  const show = await saga.admin.createShow({ capacity: 2 });
  const buyer = saga.buyer();
  const id = await buyer.book(show, { quantity: 1 });

  // The provider has captured: payment holds the answer and has not recorded it.
  await expect
    .poll(async () => (await saga.providerLedger(id)).length, { timeout: 120_000, interval: 250 })
    .toBe(1);
  const payment = saga.stack.apps.payment!;
  await Promise.all([payment.kill(), payment.sidecar?.kill()]);

  const paymentDb = postgres(payment.env.DATABASE_URL!, { max: 1 });
  try {
    const [intent] = await paymentDb`select status from payments where reservation_id = ${id}`;
    expect(intent?.status, 'killed after the call and before the record').toBe('pending');

    await Promise.all([payment.restart(), payment.sidecar?.restart()]);
    const outcome = await buyer.outcome(id, 120_000);
    expect(outcome.status).toBe('CONFIRMED');

    const ledger = await saga.providerLedger(id);
    expect(ledger.filter((entry) => entry.status === 'captured')).toHaveLength(1);
    expect(ledger).toMatchObject([{ status: 'captured', amountMinor: show.priceMinor, refund: null }]);
    const [recorded] = await paymentDb`
      select status, provider_charge_id from payments where reservation_id = ${id}`;
    expect(recorded).toEqual({ status: 'captured', provider_charge_id: ledger[0]!.id });
    const published = await paymentDb`
      select topic from outbox where partition_key = ${id} order by created_at`;
    expect(published.map((row) => row.topic)).toEqual(['payment.completed']);
    expect((await buyer.payment(id)).body).toMatchObject({ status: 'captured', refund: null });
  } finally {
    await paymentDb.end();
  }
}, 360_000);

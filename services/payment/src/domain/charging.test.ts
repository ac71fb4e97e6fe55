// The retry policy around provider calls, against a scripted provider: which failures are retried,
// how a processor that never answers ends, and that a refusal is not retried.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { chargeWithRetries, refundWithRetries } from './charging.ts';
import {
  type ChargeResult,
  type PaymentProvider,
  ProcessorUnavailableError,
  ProviderRejectedError,
  type RefundResult,
} from './provider.ts';

const policy = { retries: 2, minTimeoutMs: 1, attemptTimeoutMs: 200 };
const request = {
  idempotencyKey: 'r-1',
  amountMinor: 4200,
  currency: 'EUR',
  paymentToken: 'tok',
  reference: 'r-1',
};
const refund = { idempotencyKey: 'refund:r-1', chargeId: 'ch_1', amountMinor: 4200, currency: 'EUR' };

/** A provider answering each call with the next scripted step (the last one repeats). */
function scripted(steps: ((signal: AbortSignal) => Promise<ChargeResult | RefundResult>)[]) {
  let calls = 0;
  const next = (signal: AbortSignal) => steps[Math.min(calls++, steps.length - 1)]!(signal);
  const provider: PaymentProvider = {
    name: 'scripted',
    charge: async (_, signal) => (await next(signal)) as ChargeResult,
    refund: async (_, signal) => (await next(signal)) as RefundResult,
  };
  return { provider, calls: () => calls };
}

const captured = async (): Promise<ChargeResult> => ({ status: 'captured', chargeId: 'ch_1' });
const unavailable = async (): Promise<never> => {
  throw new ProcessorUnavailableError('down');
};

describe('chargeWithRetries', () => {
  it('retries an unavailable processor until it answers', async () => {
    const { provider, calls } = scripted([unavailable, unavailable, captured]);
    expect(await chargeWithRetries(provider, request, policy)).toEqual({
      status: 'captured',
      chargeId: 'ch_1',
    });
    expect(calls()).toBe(3);
  });

  it('ends a processor that never answers in PROCESSOR_ERROR after the bounded retries', async () => {
    const { provider, calls } = scripted([unavailable]);
    expect(await chargeWithRetries(provider, request, policy)).toMatchObject({
      status: 'failed',
      reason: 'PROCESSOR_ERROR',
    });
    expect(calls()).toBe(3);
  });

  it('does not retry a decline', async () => {
    const { provider, calls } = scripted([
      async () => ({ status: 'declined', reason: 'INSUFFICIENT_FUNDS' }),
    ]);
    expect(await chargeWithRetries(provider, request, policy)).toEqual({
      status: 'failed',
      reason: 'INSUFFICIENT_FUNDS',
    });
    expect(calls()).toBe(1);
  });

  it('treats an answer slower than the attempt timeout as transient', async () => {
    const slow = scripted([(signal) => sleep(1000, undefined, { signal }).then(captured)]);
    expect(
      await chargeWithRetries(slow.provider, request, { ...policy, retries: 0, attemptTimeoutMs: 20 }),
    ).toMatchObject({ status: 'failed', reason: 'PROCESSOR_ERROR' });
  });

  it('lets a refusal through without retrying it', async () => {
    const { provider, calls } = scripted([
      async () => {
        throw new ProviderRejectedError('key reused');
      },
    ]);
    await expect(chargeWithRetries(provider, request, policy)).rejects.toBeInstanceOf(ProviderRejectedError);
    expect(calls()).toBe(1);
  });
});

describe('refundWithRetries', () => {
  it('retries an unavailable processor, and propagates one that stays down', async () => {
    const recovering = scripted([unavailable, async () => ({ status: 'refunded', refundId: 're_1' })]);
    expect(await refundWithRetries(recovering.provider, refund, policy)).toEqual({
      status: 'refunded',
      refundId: 're_1',
    });
    await expect(refundWithRetries(scripted([unavailable]).provider, refund, policy)).rejects.toBeInstanceOf(
      ProcessorUnavailableError,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { chargeWithRetries, refundWithRetries } from './charging.ts';
import { ProcessorUnavailableError, ProviderRejectedError } from './provider.ts';
import { createSandboxProvider } from './sandbox-provider.ts';

const policy = { retries: 2, minTimeoutMs: 1, attemptTimeoutMs: 200 };
const sandbox = (slowResponseMs = 20) => createSandboxProvider({ slowResponseMs, flakyFailures: 2 });
const charge = (paymentToken: string, idempotencyKey = `r-${paymentToken}`) => ({
  idempotencyKey,
  amountMinor: 4200,
  currency: 'EUR',
  paymentToken,
});

describe('sandbox provider test tokens', () => {
  it('captures tok_success', async () => {
    const outcome = await chargeWithRetries(sandbox(), charge('tok_success'), policy);
    expect(outcome).toMatchObject({ status: 'captured', chargeId: expect.stringMatching(/^ch_/) });
  });

  it('declines tok_declined and tok_insufficient_funds without retrying', async () => {
    const provider = sandbox();
    expect(await chargeWithRetries(provider, charge('tok_declined'), policy)).toEqual({
      status: 'failed',
      reason: 'DECLINED',
    });
    expect(await chargeWithRetries(provider, charge('tok_insufficient_funds'), policy)).toEqual({
      status: 'failed',
      reason: 'INSUFFICIENT_FUNDS',
    });
    expect(provider.ledger().captures).toBe(0);
  });

  it('declines a card it does not know', async () => {
    expect(await chargeWithRetries(sandbox(), charge('tok_unknown'), policy)).toMatchObject({
      reason: 'DECLINED',
    });
  });

  it('turns a processor that never answers into PROCESSOR_ERROR after the bounded retries', async () => {
    const outcome = await chargeWithRetries(sandbox(), charge('tok_processor_error'), policy);
    expect(outcome).toMatchObject({ status: 'failed', reason: 'PROCESSOR_ERROR' });
  });

  it('retries a flaky processor until it captures', async () => {
    const outcome = await chargeWithRetries(sandbox(), charge('tok_processor_flaky'), policy);
    expect(outcome.status).toBe('captured');
  });

  it('gives up on a flaky processor when the retries run out', async () => {
    const outcome = await chargeWithRetries(sandbox(), charge('tok_processor_flaky'), {
      ...policy,
      retries: 1,
    });
    expect(outcome).toMatchObject({ reason: 'PROCESSOR_ERROR' });
  });

  it('answers tok_slow slowly but within bounds', async () => {
    const started = performance.now();
    const outcome = await chargeWithRetries(sandbox(50), charge('tok_slow'), policy);
    expect(outcome.status).toBe('captured');
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('treats a response slower than the attempt timeout as transient', async () => {
    const outcome = await chargeWithRetries(sandbox(500), charge('tok_slow'), {
      ...policy,
      retries: 0,
      attemptTimeoutMs: 20,
    });
    expect(outcome).toMatchObject({ status: 'failed', reason: 'PROCESSOR_ERROR' });
  });
});

describe('sandbox idempotency', () => {
  it('captures once per idempotency key however often it is asked', async () => {
    const provider = sandbox();
    const first = await provider.charge(charge('tok_success', 'same'), AbortSignal.timeout(100));
    const again = await provider.charge(charge('tok_success', 'same'), AbortSignal.timeout(100));
    expect(again).toEqual(first);
    expect(provider.ledger().captures).toBe(1);
  });

  it('refunds a capture once, and only a capture', async () => {
    const provider = sandbox();
    const captured = await provider.charge(charge('tok_success', 'r1'), AbortSignal.timeout(100));
    if (captured.status !== 'captured') throw new Error('expected a capture');
    const refund = {
      idempotencyKey: 'refund:r1',
      chargeId: captured.chargeId,
      amountMinor: 4200,
      currency: 'EUR',
    };
    const first = await refundWithRetries(provider, refund, policy);
    expect(await refundWithRetries(provider, refund, policy)).toEqual(first);
    await expect(
      refundWithRetries(provider, { ...refund, idempotencyKey: 'other' }, policy),
    ).rejects.toBeInstanceOf(ProviderRejectedError);
    await expect(
      refundWithRetries(provider, { ...refund, idempotencyKey: 'x', chargeId: 'ch_nope' }, policy),
    ).rejects.toBeInstanceOf(ProviderRejectedError);
    expect(provider.ledger()).toEqual({ captures: 1, refunds: 1 });
  });

  it('refuses a refund above the capture', async () => {
    const provider = sandbox();
    const captured = await provider.charge(charge('tok_success', 'r2'), AbortSignal.timeout(100));
    if (captured.status !== 'captured') throw new Error('expected a capture');
    await expect(
      provider.refund(
        { idempotencyKey: 'k', chargeId: captured.chargeId, amountMinor: 9999, currency: 'EUR' },
        AbortSignal.timeout(100),
      ),
    ).rejects.toBeInstanceOf(ProviderRejectedError);
  });

  it('reports an unavailable processor as a transient error', async () => {
    await expect(
      sandbox().charge(charge('tok_processor_error'), AbortSignal.timeout(100)),
    ).rejects.toBeInstanceOf(ProcessorUnavailableError);
  });
});

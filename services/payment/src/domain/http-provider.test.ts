// How payment reads the provider's HTTP answers: what it sends (key, reference, bearer key), which
// answers are captures, declines, transient failures (retry) or refusals (final).
import { parseConfig } from '@reservex/platform/config';
import { describe, expect, it } from 'vitest';
import { paymentConfigShape } from '../config.ts';
import { createHttpProvider } from './http-provider.ts';
import { ProcessorUnavailableError, ProviderRejectedError } from './provider.ts';

const request = {
  idempotencyKey: 'r-1',
  amountMinor: 4200,
  currency: 'EUR',
  paymentToken: 'tok',
  reference: 'r-1',
};
const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

function providerAnswering(answer: () => Response | Promise<Response>) {
  const seen: Request[] = [];
  const provider = createHttpProvider({
    name: 'sandbox',
    baseUrl: 'http://provider.test/',
    apiKey: 'key-of-the-test-provider',
    fetch: async (input, init) => {
      seen.push(new Request(input, init));
      return answer();
    },
  });
  return { provider, seen };
}

describe('HTTP provider', () => {
  it('sends the idempotency key, the bearer key and the reference, and reads a capture', async () => {
    const { provider, seen } = providerAnswering(() => json(201, { id: 'ch_1', status: 'captured' }));
    expect(await provider.charge(request, AbortSignal.timeout(1000))).toEqual({
      status: 'captured',
      chargeId: 'ch_1',
    });
    const sent = seen[0]!;
    expect(sent.url).toBe('http://provider.test/v1/charges');
    expect(sent.headers.get('idempotency-key')).toBe('r-1');
    expect(sent.headers.get('authorization')).toBe('Bearer key-of-the-test-provider');
    expect(await sent.json()).toEqual({
      amountMinor: 4200,
      currency: 'EUR',
      paymentToken: 'tok',
      reference: 'r-1',
    });
  });

  it('reads a decline with its reason', async () => {
    const { provider } = providerAnswering(() =>
      json(201, { id: 'ch_2', status: 'declined', declineReason: 'INSUFFICIENT_FUNDS' }),
    );
    expect(await provider.charge(request, AbortSignal.timeout(1000))).toEqual({
      status: 'declined',
      reason: 'INSUFFICIENT_FUNDS',
    });
  });

  it('treats 5xx, 429 and an unreachable provider as transient', async () => {
    for (const status of [500, 503, 429]) {
      const { provider } = providerAnswering(() =>
        json(status, { detail: 'down' }, 'application/problem+json'),
      );
      await expect(provider.charge(request, AbortSignal.timeout(1000))).rejects.toBeInstanceOf(
        ProcessorUnavailableError,
      );
    }
    const { provider } = providerAnswering(() => Promise.reject(new TypeError('fetch failed')));
    await expect(provider.charge(request, AbortSignal.timeout(1000))).rejects.toBeInstanceOf(
      ProcessorUnavailableError,
    );
  });

  it('treats any other refusal as final, with the provider’s detail', async () => {
    const { provider } = providerAnswering(() =>
      json(409, { detail: 'idempotency key r-1 was used with other parameters' }, 'application/problem+json'),
    );
    await expect(provider.charge(request, AbortSignal.timeout(1000))).rejects.toThrow(
      new ProviderRejectedError(
        'sandbox refused /v1/charges (409): idempotency key r-1 was used with other parameters',
      ),
    );
  });

  it('reads a refund', async () => {
    const { provider, seen } = providerAnswering(() => json(201, { id: 're_1', status: 'refunded' }));
    expect(
      await provider.refund(
        { idempotencyKey: 'refund:r-1', chargeId: 'ch_1', amountMinor: 4200, currency: 'EUR' },
        AbortSignal.timeout(1000),
      ),
    ).toEqual({ status: 'refunded', refundId: 're_1' });
    expect(seen[0]!.headers.get('idempotency-key')).toBe('refund:r-1');
  });
});

describe('payment configuration', () => {
  const env = { SERVICE_NAME: 'payment', DATABASE_URL: 'postgres://u@127.0.0.1:5432/payment' };

  it('needs the provider’s URL and API key, and names each missing variable', () => {
    expect(parseConfig(paymentConfigShape, env)).toMatchObject({
      ok: false,
      variables: ['PAYMENT_PROVIDER_URL', 'PAYMENT_PROVIDER_API_KEY'],
    });
    const malformed = parseConfig(paymentConfigShape, {
      ...env,
      PAYMENT_PROVIDER_URL: 'card-sandbox:3000',
      PAYMENT_PROVIDER_API_KEY: 'k'.repeat(32),
    });
    expect(malformed.ok ? '' : malformed.message).toContain('PAYMENT_PROVIDER_URL is malformed');
  });
});

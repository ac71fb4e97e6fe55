// The sandbox's rules that need no database: what each test card does, how a request's parameters
// are compared under one idempotency key, and what its configuration refuses.
import { parseConfig } from '@reservex/platform/config';
import { describe, expect, it } from 'vitest';
import { behaviourOf, testCards } from './cards.ts';
import { sandboxConfigShape } from './config.ts';
import { fingerprint } from './db/ledger.ts';

describe('test cards', () => {
  it('gives every documented card its behaviour, and declines any other', () => {
    expect(Object.keys(testCards).map((token) => [token, behaviourOf(token).kind])).toEqual([
      ['tok_success', 'captured'],
      ['tok_declined', 'declined'],
      ['tok_insufficient_funds', 'declined'],
      ['tok_processor_error', 'unavailable'],
      ['tok_processor_flaky', 'flaky'],
      ['tok_slow', 'slow'],
    ]);
    expect(behaviourOf('tok_insufficient_funds')).toEqual({ kind: 'declined', reason: 'INSUFFICIENT_FUNDS' });
    expect(behaviourOf('4242424242424242')).toEqual({ kind: 'declined', reason: 'DECLINED' });
  });
});

describe('request fingerprint', () => {
  const charge = { amountMinor: 4200, currency: 'EUR', paymentToken: 'tok_success', reference: 'r-1' };

  it('is the same for the same parameters in any order, and differs when one changes', () => {
    const reordered = { reference: 'r-1', paymentToken: 'tok_success', currency: 'EUR', amountMinor: 4200 };
    expect(fingerprint(reordered)).toBe(fingerprint(charge));
    expect(fingerprint({ ...charge, amountMinor: 4201 })).not.toBe(fingerprint(charge));
    expect(fingerprint({ ...charge, paymentToken: 'tok_declined' })).not.toBe(fingerprint(charge));
  });

  it('treats an absent optional parameter as absent, not as another value', () => {
    expect(fingerprint({ ...charge, reference: undefined })).not.toBe(fingerprint(charge));
    expect(fingerprint({ ...charge, reference: undefined })).toBe(
      fingerprint({ amountMinor: 4200, currency: 'EUR', paymentToken: 'tok_success', reference: undefined }),
    );
  });
});

describe('configuration', () => {
  const env = { SERVICE_NAME: 'card-sandbox', DATABASE_URL: 'postgres://u@127.0.0.1:5432/ledger' };

  it('needs an API key of at least 24 characters, and names the variable', () => {
    const missing = parseConfig(sandboxConfigShape, env);
    expect(missing).toMatchObject({ ok: false, variables: ['SANDBOX_API_KEY'] });
    const short = parseConfig(sandboxConfigShape, { ...env, SANDBOX_API_KEY: 'short' });
    expect(short.ok ? '' : short.message).toContain('SANDBOX_API_KEY is malformed');
    expect(parseConfig(sandboxConfigShape, { ...env, SANDBOX_API_KEY: 'k'.repeat(24) }).ok).toBe(true);
  });
});

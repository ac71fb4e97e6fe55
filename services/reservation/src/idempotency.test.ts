import { describe, expect, it } from 'vitest';
import { fingerprint } from './idempotency.ts';

describe('fingerprint', () => {
  it('is the same for the same request whatever the member order', () => {
    expect(fingerprint({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      fingerprint({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
  });

  it('differs when any value differs', () => {
    expect(fingerprint({ quantity: 1 })).not.toBe(fingerprint({ quantity: 2 }));
    expect(fingerprint({ a: [1, 2] })).not.toBe(fingerprint({ a: [2, 1] }));
  });
});

import { describe, expect, it } from 'vitest';
import {
  implausibleCharge,
  onReservationCancelled,
  onStockReserved,
  type PaymentId,
  type PaymentRecord,
  type PaymentStatus,
} from './payment.ts';

const paymentId = 'b0f3c1e2-6a47-4b59-9f0e-0d6f2a3b4c5d' as PaymentId;
const record = (cancelled: boolean, status?: PaymentStatus): PaymentRecord => ({
  cancelled,
  payment: status ? { id: paymentId, status } : undefined,
});

describe('onStockReserved', () => {
  it('charges a reservation it knows nothing about', () => {
    expect(onStockReserved(record(false))).toEqual({ action: 'charge' });
  });

  it('never charges a reservation whose cancel arrived first', () => {
    expect(onStockReserved(record(true))).toEqual({ action: 'skip', why: 'cancelled-before-charge' });
  });

  it('never charges twice', () => {
    expect(onStockReserved(record(false, 'captured'))).toEqual({ action: 'skip', why: 'already-charged' });
    expect(onStockReserved(record(true, 'refunded'))).toEqual({ action: 'skip', why: 'already-charged' });
    expect(onStockReserved(record(false, 'failed'))).toEqual({ action: 'skip', why: 'already-failed' });
  });

  it('resumes an intent with no recorded answer, cancelled or not (the provider may have captured it)', () => {
    expect(onStockReserved(record(false, 'pending'))).toEqual({ action: 'resume' });
    expect(onStockReserved(record(true, 'pending'))).toEqual({ action: 'resume' });
  });
});

describe('onReservationCancelled', () => {
  it('refunds a capture', () => {
    expect(onReservationCancelled(record(true, 'captured'))).toEqual({ action: 'refund', paymentId });
  });

  it('refunds at most once', () => {
    expect(onReservationCancelled(record(true, 'refunded'))).toEqual({
      action: 'tombstone-only',
      why: 'already-refunded',
    });
  });

  it('refunds nothing that was not captured', () => {
    expect(onReservationCancelled(record(true))).toEqual({ action: 'tombstone-only', why: 'not-charged' });
    expect(onReservationCancelled(record(true, 'failed'))).toEqual({
      action: 'tombstone-only',
      why: 'charge-failed',
    });
  });

  it('leaves a pending charge to refund itself once its capture is recorded', () => {
    expect(onReservationCancelled(record(true, 'pending'))).toEqual({
      action: 'tombstone-only',
      why: 'charge-pending',
    });
  });

  it('refunds nothing of a reservation that is not cancelled', () => {
    expect(onReservationCancelled(record(false, 'captured'))).toEqual({
      action: 'tombstone-only',
      why: 'not-cancelled',
    });
  });
});

describe('implausibleCharge', () => {
  it('accepts the reservation’s total', () => {
    expect(implausibleCharge({ unitPriceMinor: 2500, quantity: 2, amountMinor: 5000, currency: 'EUR' })).toBe(
      undefined,
    );
  });

  it('refuses any other amount, naming the total', () => {
    expect(implausibleCharge({ unitPriceMinor: 2500, quantity: 2, amountMinor: 1, currency: 'EUR' })).toBe(
      "amount 1 EUR is not the reservation's total 5000 EUR (2 × 2500)",
    );
  });
});

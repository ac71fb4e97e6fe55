// The card network, seen from the payment service. A real provider (Stripe, Adyen, …) implements this
// interface; http-provider.ts implements it over the card sandbox's API (services/card-sandbox), a
// separate process with its own ledger, as a real provider's test mode is.
import type { PaymentFailureReason } from '@reservex/contracts';

export type ChargeRequest = {
  /** The provider deduplicates on it: the same key never captures twice. We use the reservation id. */
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  /** The tokenised card the buyer chose; never a card number. */
  paymentToken: string;
  /** Our reference shown in the provider's ledger: the reservation id. */
  reference: string;
};

export type Decline = Exclude<PaymentFailureReason, 'PROCESSOR_ERROR'>;

export type ChargeResult = { status: 'captured'; chargeId: string } | { status: 'declined'; reason: Decline };

export type RefundRequest = {
  idempotencyKey: string;
  chargeId: string;
  amountMinor: number;
  currency: string;
};

export type RefundResult = { status: 'refunded'; refundId: string };

export interface PaymentProvider {
  readonly name: string;
  charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeResult>;
  refund(request: RefundRequest, signal: AbortSignal): Promise<RefundResult>;
}

/** The provider could not answer (outage, timeout, 5xx): the same request may succeed later. */
export class ProcessorUnavailableError extends Error {
  override readonly name = 'ProcessorUnavailableError';
}

/** The provider refused the request itself (unknown charge, amount above the capture): retrying cannot help. */
export class ProviderRejectedError extends Error {
  override readonly name = 'ProviderRejectedError';
}

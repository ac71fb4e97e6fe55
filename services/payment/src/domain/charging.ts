// Talking to the provider: each attempt is bounded in time, a transient failure is retried a bounded
// number of times, and a processor that never answers becomes a PROCESSOR_ERROR failure of the payment
// rather than a saga that waits forever.
import pRetry, { AbortError } from 'p-retry';
import {
  type ChargeRequest,
  type Decline,
  type PaymentProvider,
  ProcessorUnavailableError,
  type RefundRequest,
  type RefundResult,
} from './provider.ts';

export type RetryPolicy = {
  /** Attempts after the first one. */
  retries: number;
  /** Back-off before the first retry; doubles after each. */
  minTimeoutMs: number;
  /** Upper bound of one provider call; a slower answer counts as a transient failure. */
  attemptTimeoutMs: number;
};

export type ChargeOutcome =
  | { status: 'captured'; chargeId: string }
  | { status: 'failed'; reason: Decline | 'PROCESSOR_ERROR'; detail?: string };

function transientOnly(error: unknown): never {
  if (error instanceof ProcessorUnavailableError) throw error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    throw new ProcessorUnavailableError(`provider timed out: ${error.message}`);
  }
  throw new AbortError(error instanceof Error ? error : String(error));
}

function retryOptions(policy: RetryPolicy) {
  return { retries: policy.retries, minTimeout: policy.minTimeoutMs, factor: 2, randomize: false };
}

export async function chargeWithRetries(
  provider: PaymentProvider,
  request: ChargeRequest,
  policy: RetryPolicy,
): Promise<ChargeOutcome> {
  try {
    const result = await pRetry(
      () => provider.charge(request, AbortSignal.timeout(policy.attemptTimeoutMs)).catch(transientOnly),
      retryOptions(policy),
    );
    return result.status === 'captured' ? result : { status: 'failed', reason: result.reason };
  } catch (error) {
    if (error instanceof ProcessorUnavailableError) {
      return { status: 'failed', reason: 'PROCESSOR_ERROR', detail: error.message };
    }
    throw error;
  }
}

/**
 * A refund must happen eventually: after the bounded retries the error propagates, so the delivery is
 * retried by Dapr (and dead-lettered, visibly, if the provider keeps refusing).
 */
export function refundWithRetries(
  provider: PaymentProvider,
  request: RefundRequest,
  policy: RetryPolicy,
): Promise<RefundResult> {
  return pRetry(
    () => provider.refund(request, AbortSignal.timeout(policy.attemptTimeoutMs)).catch(transientOnly),
    retryOptions(policy),
  );
}

// A deterministic stand-in for the card network: the payment token chooses the outcome, so tests and
// demos can walk every payment path. Like a real provider it deduplicates on the idempotency key.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  ProcessorUnavailableError,
  ProviderRejectedError,
  type RefundResult,
} from './provider.ts';

/** The test cards the sandbox knows, and what each one does. */
export const sandboxTokens = {
  tok_success: 'captured',
  tok_declined: 'declined',
  tok_insufficient_funds: 'insufficient funds',
  tok_processor_error: 'the processor is down for every attempt',
  tok_processor_flaky: 'the processor fails the first attempts of a charge, then captures',
  tok_slow: 'captured after a slow (bounded) response',
} as const;

export type SandboxOptions = {
  /** How long `tok_slow` takes to answer. */
  slowResponseMs: number;
  /** How many attempts of one `tok_processor_flaky` charge fail before it captures. */
  flakyFailures: number;
};

type Capture = { chargeId: string; amountMinor: number; currency: string };

export function createSandboxProvider(options: SandboxOptions): PaymentProvider & SandboxLedger {
  const charges = new Map<string, ChargeResult>();
  const captures = new Map<string, Capture>();
  const refunds = new Map<string, RefundResult & { chargeId: string }>();
  const refundedCharges = new Set<string>();
  const attempts = new Map<string, number>();

  function settle(key: string, result: ChargeResult, request: ChargeRequest): ChargeResult {
    charges.set(key, result);
    if (result.status === 'captured') {
      captures.set(result.chargeId, {
        chargeId: result.chargeId,
        amountMinor: request.amountMinor,
        currency: request.currency,
      });
    }
    return result;
  }

  return {
    name: 'sandbox',

    async charge(request, signal) {
      signal.throwIfAborted();
      const earlier = charges.get(request.idempotencyKey);
      if (earlier) return earlier;
      const attempt = (attempts.get(request.idempotencyKey) ?? 0) + 1;
      attempts.set(request.idempotencyKey, attempt);
      const captured = (): ChargeResult => ({ status: 'captured', chargeId: `ch_${randomUUID()}` });
      switch (request.paymentToken) {
        case 'tok_success':
          return settle(request.idempotencyKey, captured(), request);
        case 'tok_declined':
          return settle(request.idempotencyKey, { status: 'declined', reason: 'DECLINED' }, request);
        case 'tok_insufficient_funds':
          return settle(
            request.idempotencyKey,
            { status: 'declined', reason: 'INSUFFICIENT_FUNDS' },
            request,
          );
        case 'tok_processor_error':
          throw new ProcessorUnavailableError('sandbox processor unavailable (tok_processor_error)');
        case 'tok_processor_flaky':
          if (attempt <= options.flakyFailures) {
            throw new ProcessorUnavailableError(`sandbox processor unavailable (attempt ${attempt})`);
          }
          return settle(request.idempotencyKey, captured(), request);
        case 'tok_slow':
          await sleep(options.slowResponseMs, undefined, { signal });
          return settle(request.idempotencyKey, captured(), request);
        default:
          // A real network declines a card it does not know.
          return settle(request.idempotencyKey, { status: 'declined', reason: 'DECLINED' }, request);
      }
    },

    async refund(request, signal) {
      signal.throwIfAborted();
      const earlier = refunds.get(request.idempotencyKey);
      if (earlier) return { status: earlier.status, refundId: earlier.refundId };
      const capture = captures.get(request.chargeId);
      if (!capture) throw new ProviderRejectedError(`no capture ${request.chargeId}`);
      if (refundedCharges.has(request.chargeId))
        throw new ProviderRejectedError(`${request.chargeId} already refunded`);
      if (request.amountMinor > capture.amountMinor || request.currency !== capture.currency) {
        throw new ProviderRejectedError(`refund exceeds capture ${request.chargeId}`);
      }
      const result: RefundResult = { status: 'refunded', refundId: `re_${randomUUID()}` };
      refunds.set(request.idempotencyKey, { ...result, chargeId: request.chargeId });
      refundedCharges.add(request.chargeId);
      return result;
    },

    ledger() {
      return { captures: captures.size, refunds: refunds.size };
    },
  };
}

/** What the network has done, for tests that check no charge happened twice. */
export interface SandboxLedger {
  ledger(): { captures: number; refunds: number };
}

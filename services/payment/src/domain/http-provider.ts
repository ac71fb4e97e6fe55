// A PaymentProvider over HTTP: the card sandbox's API (services/card-sandbox), which has the shape of a
// real provider's: a bearer API key, an Idempotency-Key per charge and refund, problem+json refusals.
// An answer the provider could not give (network error, timeout, 5xx, 429) is transient; any other
// refusal is final.
import { z } from 'zod';
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  ProcessorUnavailableError,
  ProviderRejectedError,
  type RefundRequest,
  type RefundResult,
} from './provider.ts';

export type HttpProviderOptions = {
  name: string;
  /** e.g. https://card-sandbox.example or http://127.0.0.1:4242 */
  baseUrl: string;
  apiKey: string;
  /** For tests: another transport with fetch's signature. */
  fetch?: typeof fetch;
};

const ChargeAnswer = z.discriminatedUnion('status', [
  z.object({ status: z.literal('captured'), id: z.string().min(1) }),
  z.object({ status: z.literal('declined'), declineReason: z.enum(['DECLINED', 'INSUFFICIENT_FUNDS']) }),
]);
const RefundAnswer = z.object({ status: z.literal('refunded'), id: z.string().min(1) });

export function createHttpProvider(options: HttpProviderOptions): PaymentProvider {
  const transport = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  async function post(path: string, idempotencyKey: string, body: unknown, signal: AbortSignal) {
    let response: Response;
    try {
      response = await transport(`${base}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'idempotency-key': idempotencyKey,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      // A timeout keeps its name (the retry policy reads it); anything else is the network failing.
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
        throw error;
      throw new ProcessorUnavailableError(`${options.name} unreachable: ${String(error)}`, { cause: error });
    }
    const text = await response.text();
    if (response.status >= 500 || response.status === 429) {
      throw new ProcessorUnavailableError(`${options.name} answered ${response.status}: ${detailOf(text)}`);
    }
    if (!response.ok) {
      throw new ProviderRejectedError(
        `${options.name} refused ${path} (${response.status}): ${detailOf(text)}`,
      );
    }
    return parseJson(text);
  }

  return {
    name: options.name,

    async charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeResult> {
      const { idempotencyKey, ...body } = request;
      const answer = ChargeAnswer.safeParse(await post('/v1/charges', idempotencyKey, body, signal));
      if (!answer.success) throw new ProcessorUnavailableError(`${options.name}: unexpected charge answer`);
      return answer.data.status === 'captured'
        ? { status: 'captured', chargeId: answer.data.id }
        : { status: 'declined', reason: answer.data.declineReason };
    },

    async refund(request: RefundRequest, signal: AbortSignal): Promise<RefundResult> {
      const { idempotencyKey, ...body } = request;
      const answer = RefundAnswer.safeParse(await post('/v1/refunds', idempotencyKey, body, signal));
      if (!answer.success) throw new ProcessorUnavailableError(`${options.name}: unexpected refund answer`);
      return { status: 'refunded', refundId: answer.data.id };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function detailOf(text: string): string {
  const body = parseJson(text) as { detail?: unknown; title?: unknown } | undefined;
  const detail = body?.detail ?? body?.title;
  return typeof detail === 'string' ? detail : 'no problem details';
}

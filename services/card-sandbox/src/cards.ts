// The test cards the sandbox knows: the token chooses what the "network" does, so tests and demos
// can walk every payment path. Any other token is declined, as a real network declines a card it does
// not know.

export const testCards = {
  tok_success: 'captured',
  tok_declined: 'declined (DECLINED)',
  tok_insufficient_funds: 'declined (INSUFFICIENT_FUNDS)',
  tok_processor_error: 'the processor is unavailable for every attempt (503, nothing recorded)',
  tok_processor_flaky: 'the first attempts of a key fail with 503, then it captures',
  tok_slow: 'captured after a slow (bounded) response',
} as const;

export type CardBehaviour =
  | { kind: 'captured' }
  | { kind: 'declined'; reason: 'DECLINED' | 'INSUFFICIENT_FUNDS' }
  | { kind: 'unavailable' }
  | { kind: 'flaky' }
  | { kind: 'slow' };

export function behaviourOf(token: string): CardBehaviour {
  switch (token) {
    case 'tok_success':
      return { kind: 'captured' };
    case 'tok_insufficient_funds':
      return { kind: 'declined', reason: 'INSUFFICIENT_FUNDS' };
    case 'tok_processor_error':
      return { kind: 'unavailable' };
    case 'tok_processor_flaky':
      return { kind: 'flaky' };
    case 'tok_slow':
      return { kind: 'slow' };
    default:
      return { kind: 'declined', reason: 'DECLINED' };
  }
}

// The life of one reservation's hold, as inventory sees it. The three saga events that reach
// inventory travel on different topics and may arrive in any order, more than once; this table says
// what each one does in every state, so a late or repeated event can never hold after a cancel or
// release twice.
import type { StockFailureReason } from '@reservex/contracts';

export const holdStatuses = ['HELD', 'SOLD', 'RELEASED', 'REJECTED', 'TOMBSTONE'] as const;
export type HoldStatus = (typeof holdStatuses)[number];

/** What inventory remembers about a reservation; `undefined` when it has never heard of it. */
export type Hold =
  | { readonly status: 'HELD'; readonly quantity: number }
  | { readonly status: 'SOLD'; readonly quantity: number }
  | { readonly status: 'RELEASED'; readonly quantity: number }
  | { readonly status: 'REJECTED'; readonly reason: StockFailureReason }
  /** Cancelled before inventory saw the reservation: it must never be held afterwards. */
  | { readonly status: 'TOMBSTONE' };

export type HoldCommand = 'reserve' | 'confirm' | 'cancel';

/** What to do with the stock; `ignore` carries why, for the log. */
export type HoldStep =
  | { readonly kind: 'attempt-hold' }
  | { readonly kind: 'sell'; readonly quantity: number }
  | { readonly kind: 'release'; readonly quantity: number }
  | { readonly kind: 'tombstone' }
  | { readonly kind: 'ignore'; readonly why: string };

export function nextHoldStep(hold: Hold | undefined, command: HoldCommand): HoldStep {
  if (hold === undefined) {
    switch (command) {
      case 'reserve':
        return { kind: 'attempt-hold' };
      case 'cancel':
        return { kind: 'tombstone' };
      case 'confirm':
        // A confirmation needs a stock.reserved we published, so its hold exists; without one there
        // is nothing to sell.
        return { kind: 'ignore', why: 'confirmation of a reservation never held' };
      default:
        return unreachable(command);
    }
  }
  switch (hold.status) {
    case 'HELD':
      if (command === 'confirm') return { kind: 'sell', quantity: hold.quantity };
      if (command === 'cancel') return { kind: 'release', quantity: hold.quantity };
      return { kind: 'ignore', why: 'already held' };
    case 'SOLD':
      return {
        kind: 'ignore',
        why: command === 'cancel' ? 'a confirmed reservation stays sold' : 'already sold',
      };
    case 'RELEASED':
      return { kind: 'ignore', why: 'already released' };
    case 'REJECTED':
      return { kind: 'ignore', why: `hold was refused (${hold.reason})` };
    case 'TOMBSTONE':
      return { kind: 'ignore', why: 'reservation was cancelled before it was held' };
    default:
      return unreachable(hold);
  }
}

/** The hold after a step has been applied (an attempted hold resolves to HELD or REJECTED). */
export function applyHoldStep(
  hold: Hold | undefined,
  step: Exclude<HoldStep, { kind: 'attempt-hold' }>,
): Hold | undefined {
  switch (step.kind) {
    case 'sell':
      return { status: 'SOLD', quantity: step.quantity };
    case 'release':
      return { status: 'RELEASED', quantity: step.quantity };
    case 'tombstone':
      return { status: 'TOMBSTONE' };
    case 'ignore':
      return hold;
    default:
      return unreachable(step);
  }
}

function unreachable(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}

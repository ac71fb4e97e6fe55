import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyHoldStep, type Hold, type HoldCommand, nextHoldStep } from './hold.ts';
import { hold as holdStock, release, type Stock, satisfiesInvariant, sell } from './stock.ts';

describe('nextHoldStep', () => {
  const cases: [Hold | undefined, HoldCommand, string][] = [
    [undefined, 'reserve', 'attempt-hold'],
    [undefined, 'cancel', 'tombstone'],
    [undefined, 'confirm', 'ignore'],
    [{ status: 'HELD', quantity: 2 }, 'reserve', 'ignore'],
    [{ status: 'HELD', quantity: 2 }, 'confirm', 'sell'],
    [{ status: 'HELD', quantity: 2 }, 'cancel', 'release'],
    [{ status: 'SOLD', quantity: 2 }, 'reserve', 'ignore'],
    [{ status: 'SOLD', quantity: 2 }, 'confirm', 'ignore'],
    [{ status: 'SOLD', quantity: 2 }, 'cancel', 'ignore'],
    [{ status: 'RELEASED', quantity: 2 }, 'reserve', 'ignore'],
    [{ status: 'RELEASED', quantity: 2 }, 'confirm', 'ignore'],
    [{ status: 'RELEASED', quantity: 2 }, 'cancel', 'ignore'],
    [{ status: 'REJECTED', reason: 'SOLD_OUT' }, 'reserve', 'ignore'],
    [{ status: 'REJECTED', reason: 'SOLD_OUT' }, 'confirm', 'ignore'],
    [{ status: 'REJECTED', reason: 'SOLD_OUT' }, 'cancel', 'ignore'],
    [{ status: 'TOMBSTONE' }, 'reserve', 'ignore'],
    [{ status: 'TOMBSTONE' }, 'confirm', 'ignore'],
    [{ status: 'TOMBSTONE' }, 'cancel', 'ignore'],
  ];
  it.each(cases)('%j + %s → %s', (hold, command, kind) => {
    expect(nextHoldStep(hold, command).kind).toBe(kind);
  });

  it('sells and releases exactly the held quantity', () => {
    expect(nextHoldStep({ status: 'HELD', quantity: 3 }, 'confirm')).toEqual({ kind: 'sell', quantity: 3 });
    expect(nextHoldStep({ status: 'HELD', quantity: 3 }, 'cancel')).toEqual({ kind: 'release', quantity: 3 });
  });
});

describe('any interleaving of saga events, with duplicates', () => {
  const reservations = 6;
  // Per reservation the saga emits created, then at most one of confirmed / cancelled; transport may
  // reorder across topics and deliver each any number of times.
  const delivery = fc
    .array(
      fc.record({
        outcome: fc.constantFrom('confirm', 'cancel', 'none'),
        quantity: fc.integer({ min: 1, max: 4 }),
        copies: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: reservations, maxLength: reservations },
    )
    .chain((sagas) => {
      const messages: { r: number; command: HoldCommand }[] = [];
      sagas.forEach((saga, r) => {
        for (let i = 0; i < saga.copies; i++) {
          messages.push({ r, command: 'reserve' });
          if (saga.outcome !== 'none') messages.push({ r, command: saga.outcome });
        }
      });
      return fc.tuple(fc.constant(sagas), fc.shuffledSubarray(messages, { minLength: messages.length }));
    });

  it('keeps the invariant, never holds after a cancel, and sells only confirmed holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), delivery, (capacity, [sagas, messages]) => {
        let stock: Stock = { capacity, available: capacity, held: 0, sold: 0 };
        const holds = new Map<number, Hold>();
        const cancelled = new Set<number>();
        for (const { r, command } of messages) {
          const quantity = sagas[r]!.quantity;
          const current = holds.get(r);
          const step = nextHoldStep(current, command);
          if (command === 'cancel') cancelled.add(r);
          let next: Hold | undefined;
          if (step.kind === 'attempt-hold') {
            expect(cancelled.has(r)).toBe(false);
            const after = holdStock(stock, quantity);
            if (after === undefined) next = { status: 'REJECTED', reason: 'SOLD_OUT' };
            else {
              stock = after;
              next = { status: 'HELD', quantity };
            }
          } else {
            if (step.kind === 'sell') stock = sell(stock, step.quantity);
            if (step.kind === 'release') stock = release(stock, step.quantity);
            next = applyHoldStep(current, step);
          }
          if (next) holds.set(r, next);
          expect(satisfiesInvariant(stock)).toBe(true);
        }
        let held = 0;
        let sold = 0;
        for (const [r, h] of holds) {
          if (h.status === 'HELD') held += h.quantity;
          if (h.status === 'SOLD') {
            sold += h.quantity;
            expect(sagas[r]!.outcome).toBe('confirm');
          }
          if (cancelled.has(r)) expect(h.status === 'HELD' || h.status === 'SOLD').toBe(false);
        }
        expect(stock.held).toBe(held);
        expect(stock.sold).toBe(sold);
      }),
    );
  });
});

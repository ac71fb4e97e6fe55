import { describe, expect, it } from 'vitest';
import type { Executor } from '../db/index.ts';
import { ContractViolationError, enqueue } from './index.ts';

// A transaction that must never be touched: validation happens before any write.
const untouchable = new Proxy({} as Executor, {
  get() {
    throw new Error('the transaction was used');
  },
});

describe('enqueue', () => {
  it('refuses a payload that violates its contract before writing anything, naming the fields', async () => {
    const attempt = enqueue(
      untouchable,
      'ticket.voided',
      // Well-typed (ids and instants are strings to the type system) yet invalid at runtime.
      { schemaVersion: 1, reservationId: 'nope', occurredAt: 'yesterday', ticketIds: ['x'] },
      { partitionKey: 'k' },
    );
    await expect(attempt).rejects.toBeInstanceOf(ContractViolationError);
    await expect(attempt).rejects.toMatchObject({
      topic: 'ticket.voided',
      issues: expect.arrayContaining([
        expect.objectContaining({ path: 'reservationId' }),
        expect.objectContaining({ path: 'occurredAt' }),
        expect.objectContaining({ path: 'ticketIds.0' }),
      ]),
    });
  });
});

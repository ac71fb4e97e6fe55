import { describe, expect, it } from 'vitest';
import { events, isTopic, nothingToUndo, ReservationCancelled, SagaStep, topics } from './events.ts';
import { appIds, topology } from './services.ts';

const base = {
  schemaVersion: 1,
  reservationId: '7d7a3c1e-2f0a-4a51-9a86-4b8e0b6f1a11',
  occurredAt: '2026-11-21T10:00:00.000Z',
  userId: 'u-1',
  showId: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10',
  ticketTypeId: '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a',
  quantity: 2,
};

describe('event contracts', () => {
  it('accepts a well-formed cancellation and names the reason', () => {
    const parsed = ReservationCancelled.parse({ ...base, reason: 'SOLD_OUT', failedStep: 'stock' });
    expect(parsed.reason).toBe('SOLD_OUT');
  });

  it('rejects an unknown schema version', () => {
    const result = ReservationCancelled.safeParse({
      ...base,
      schemaVersion: 2,
      reason: 'SOLD_OUT',
      failedStep: 'stock',
    });
    expect(result.success).toBe(false);
  });

  it('rejects a non-positive quantity, naming the field', () => {
    const result = events['reservation.confirmed'].safeParse({ ...base, quantity: 0 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['quantity']);
  });

  it('knows its topics', () => {
    expect(isTopic('stock.reserved')).toBe(true);
    expect(isTopic('stock.unknown')).toBe(false);
  });
});

describe('topology', () => {
  it('every topic has exactly one publisher and at least one consumer', () => {
    for (const topic of topics) {
      const publishers = appIds.filter((app) =>
        (topology[app].publishes as readonly string[]).includes(topic),
      );
      const consumers = appIds.filter((app) => (topology[app].consumes as readonly string[]).includes(topic));
      expect(publishers, topic).toHaveLength(1);
      expect(consumers.length, topic).toBeGreaterThan(0);
    }
  });
});

describe('nothingToUndo', () => {
  const table: Record<SagaStep, { stock: boolean; payment: boolean; ticket: boolean }> = {
    // inventory refused: it took nothing, and neither payment nor ticket was ever asked
    stock: { stock: true, payment: true, ticket: true },
    // the card was refused: stock is held, the ticket service was never asked
    payment: { stock: false, payment: false, ticket: true },
    ticket: { stock: false, payment: false, ticket: false },
    // ended from outside the participants' answers: anything may have been taken or be on its way
    expiry: { stock: false, payment: false, ticket: false },
    user: { stock: false, payment: false, ticket: false },
    delivery: { stock: false, payment: false, ticket: false },
  };

  it.each(SagaStep.options)('a cancellation that failed at %s', (failedStep) => {
    expect({
      stock: nothingToUndo({ failedStep }, 'stock'),
      payment: nothingToUndo({ failedStep }, 'payment'),
      ticket: nothingToUndo({ failedStep }, 'ticket'),
    }).toEqual(table[failedStep]);
  });
});

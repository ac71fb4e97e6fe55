import { describe, expect, it } from 'vitest';
import {
  BREAKDOWN_HEADER,
  breakdown,
  breakdownRows,
  CONFIRMED_PATH,
  hopsOf,
  type JaegerSpan,
  type JaegerTrace,
  mergeBreakdowns,
  pathOf,
  SOLD_OUT_PATH,
} from './hops.ts';

/** A trace built from [id, parent, operation, service, start ms, duration ms] rows. */
function traceOf(rows: [string, string | undefined, string, string, number, number][]): JaegerTrace {
  const services = [...new Set(rows.map((r) => r[3]))];
  const spans: JaegerSpan[] = rows.map(([id, parent, operation, service, start, duration]) => ({
    traceID: 't',
    spanID: id,
    operationName: operation,
    references: parent ? [{ refType: 'CHILD_OF', spanID: parent }] : [],
    startTime: 1_700_000_000_000_000 + start * 1000,
    duration: duration * 1000,
    processID: `p${services.indexOf(service)}`,
  }));
  return {
    traceID: 't',
    spans,
    processes: Object.fromEntries(services.map((s, i) => [`p${i}`, { serviceName: s }])),
  };
}

// POST (0–10) → reservation.created published by the relay (15–17) → inventory's sidecar hands it
// over at 30 → inventory handles it 32–40, writing stock.reserved; query consumes the same event too.
const soldOutTrace = traceOf([
  ['post', undefined, 'POST /v1/reservations', 'reservation', 0, 10],
  ['pub1', 'post', 'reservation.created publish', 'reservation', 15, 2],
  ['dapr1', 'pub1', 'pubsub/reservation.created', 'inventory', 30, 12],
  ['dapr1q', 'pub1', 'pubsub/reservation.created', 'query', 20, 3],
  ['proc1q', 'pub1', 'reservation.created process', 'query', 21, 1],
  ['proc1', 'pub1', 'reservation.created process', 'inventory', 32, 8],
  ['pub2', 'proc1', 'stock.failed publish', 'inventory', 38, 1],
  ['dapr2', 'pub2', 'pubsub/stock.failed', 'reservation', 50, 5],
  ['proc2', 'pub2', 'stock.failed process', 'reservation', 51, 3],
  ['pub3', 'proc2', 'reservation.cancelled publish', 'reservation', 60, 4],
  ['proc3', 'pub3', 'reservation.cancelled process', 'query', 70, 2],
]);

describe('the per-hop breakdown from traces', () => {
  it('tells a confirmed saga from a sold-out one', () => {
    expect(pathOf(soldOutTrace)).toBe(SOLD_OUT_PATH);
    const confirmed = traceOf([['c', undefined, 'reservation.confirmed process', 'query', 0, 1]]);
    expect(pathOf(confirmed)).toBe(CONFIRMED_PATH);
    expect(pathOf(traceOf([['x', undefined, 'GET /healthz', 'query', 0, 1]]))).toBeUndefined();
  });

  it('splits each hop into relay, publish, broker wait, delivery and handler, on the saga path’s consumer', () => {
    const hops = hopsOf(soldOutTrace, SOLD_OUT_PATH);
    expect(hops.get('reservation.created')).toEqual({
      relay: 5,
      publish: 2,
      'broker wait': 13,
      delivery: 2,
      handler: 8,
    });
    // Published from inside the handler: no relay.
    expect(hops.get('stock.failed')).toEqual({
      relay: 0,
      publish: 1,
      'broker wait': 11,
      delivery: 1,
      handler: 3,
    });
    // No sidecar span: the wait runs to the handler.
    expect(hops.get('reservation.cancelled')).toEqual({
      relay: 6,
      publish: 4,
      'broker wait': 6,
      delivery: 0,
      handler: 2,
    });
  });

  it('takes medians per hop over the traces of each path, and writes them as table rows', () => {
    const [confirmed, soldOut] = breakdown([soldOutTrace, soldOutTrace]);
    expect(confirmed!.sagas).toBe(0);
    expect(confirmed!.hops.every((h) => h.events === 0 && Number.isNaN(h.times.handler))).toBe(true);
    expect(soldOut!.sagas).toBe(2);
    expect(soldOut!.hops[0]).toMatchObject({ events: 2, times: { 'broker wait': 13 } });
    const rows = breakdownRows('chain', [soldOut!]);
    expect(rows[0]).toBe(
      '| chain | sold out (2) | reservation.created → inventory | 2 | 5.0 | 2.0 | 13.0 | 2.0 | 8.0 | 30.0 |',
    );
    expect(BREAKDOWN_HEADER[0]).toContain('| relay | publish | broker wait | delivery | handler | sum |');
  });
});

describe('per-hop figures over rounds', () => {
  it('takes the median over rounds of each round’s median', () => {
    const round = (handler: number) =>
      breakdown([
        traceOf([
          ['post', undefined, 'POST /v1/reservations', 'reservation', 0, 10],
          ['pub1', 'post', 'reservation.created publish', 'reservation', 15, 2],
          ['proc1', 'pub1', 'reservation.created process', 'inventory', 32, handler],
          ['pub2', 'proc1', 'stock.failed publish', 'inventory', 33, 1],
          ['proc2', 'pub2', 'stock.failed process', 'reservation', 51, 3],
          ['pub3', 'proc2', 'reservation.cancelled publish', 'reservation', 60, 4],
          ['proc3', 'pub3', 'reservation.cancelled process', 'query', 70, 2],
        ]),
      ]);
    const merged = mergeBreakdowns([round(8), round(2), round(5)]);
    expect(merged[1]!.hops[0]!.times.handler).toBe(5);
    expect(merged[1]!.sagas).toBe(1);
    expect(mergeBreakdowns([])).toEqual([]);
  });
});

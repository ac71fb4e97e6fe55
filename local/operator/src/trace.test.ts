import { describe, expect, it } from 'vitest';
import type { JaegerTrace } from '../../trace-page/static/waterfall.js';
import { waterfall } from '../../trace-page/static/waterfall.js';
import { formatWaterfall } from './trace.ts';

const traceID = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = (
  spanID: string,
  parent: string | undefined,
  processID: string,
  name: string,
  start: number,
  duration: number,
) => ({
  traceID,
  spanID,
  operationName: name,
  references: parent ? [{ refType: 'CHILD_OF', traceID, spanID: parent }] : [],
  startTime: 1_000_000 + start,
  duration,
  processID,
  tags: [{ key: 'saga.step', type: 'string', value: name }],
  logs: [],
});

const trace: JaegerTrace = {
  traceID,
  // Out of order, as Jaeger may return them.
  spans: [
    span('c', 'a', 'p2', 'INSERT reservations', 2_000, 1_000),
    span('a', undefined, 'p1', 'POST /api/v1/reservations', 0, 10_000),
    span('b', 'a', 'p1', 'dapr invoke reservation', 1_000, 8_000),
    {
      ...span('e', 'b', 'p1', 'CallLocal/reservation', 1_200, 7_000),
      tags: [{ key: 'otel.scope.name', value: 'dapr-diagnostics' }],
    },
    span('d', 'b', 'p2', 'POST /v1/reservations', 1_500, 6_000),
  ],
  processes: { p1: { serviceName: 'gateway' }, p2: { serviceName: 'reservation' } },
};

describe('waterfall', () => {
  it('puts every span under its parent, siblings in start order, offsets from the first span', () => {
    const view = waterfall(trace);
    expect(view.rows.map((r) => [r.depth, r.service, r.name, r.offsetUs])).toEqual([
      [0, 'gateway', 'POST /api/v1/reservations', 0],
      [1, 'gateway', 'dapr invoke reservation', 1_000],
      [2, 'gateway', 'CallLocal/reservation', 1_200],
      [2, 'reservation', 'POST /v1/reservations', 1_500],
      [1, 'reservation', 'INSERT reservations', 2_000],
    ]);
    expect(view.services).toEqual(['gateway', 'reservation']);
    expect(view.durationUs).toBe(10_000);
    expect(view.rows[0]?.attributes).toEqual({ 'saga.step': 'POST /api/v1/reservations' });
    expect(view.rows.map((r) => r.sidecar)).toEqual([false, false, true, false, false]);
  });
});

describe('formatWaterfall', () => {
  it('draws each span as a bar on the trace’s time axis', () => {
    const lines = formatWaterfall(waterfall(trace), 10);
    expect(lines[0]).toBe(`trace ${traceID}: 5 spans, 2 services (gateway, reservation), 10.0 ms`);
    expect(lines[2]).toBe('    0.0 ms |██████████| gateway       POST /api/v1/reservations  10.0 ms');
    expect(lines[3]).toBe('    1.0 ms | ████████ | gateway         dapr invoke reservation  8.0 ms');
    expect(lines[4]).toBe('    1.2 ms | ███████  | gateway daprd     CallLocal/reservation  7.0 ms');
  });
});

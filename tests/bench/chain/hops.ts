// Where a saga's time goes, hop by hop, from its trace (Jaeger's JSON, as the local Jaeger answers
// /api/traces). For each event on the saga's path, the spans around it are:
//
//   enqueuing span ─(relay)─► "<topic> publish" (app, PRODUCER) ─(broker wait)─► "pubsub/<topic>"
//   (the consumer's daprd handing the delivery over) ─(delivery)─► "<topic> process" (the consumer
//   app, CONSUMER: the handler)
//
// relay: from the end of the span that wrote the event (a handler, the booking request) to the start
// of its publish (0 when the publish runs inside that span, as with no outbox); publish: the publish
// span; broker wait: from the publish's end to the consumer's sidecar starting the delivery (Kafka,
// the consumer's fetch and the bulk window); delivery: from there to the app's consumer span
// (the HTTP call and its decoding); handler: the consumer span.
import { median } from './figures.ts';

export type JaegerSpan = {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: string; spanID: string }[];
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  processID: string;
  tags?: { key: string; value: unknown }[];
};
export type JaegerTrace = {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
};

/** One hop of the saga: the topic and the app that moves the saga on when it consumes it. */
export type Hop = { topic: string; consumer: string };

export const CONFIRMED_PATH: readonly Hop[] = [
  { topic: 'reservation.created', consumer: 'inventory' },
  { topic: 'stock.reserved', consumer: 'payment' },
  { topic: 'payment.completed', consumer: 'ticket' },
  { topic: 'ticket.issued', consumer: 'reservation' },
  { topic: 'reservation.confirmed', consumer: 'query' },
];
export const SOLD_OUT_PATH: readonly Hop[] = [
  { topic: 'reservation.created', consumer: 'inventory' },
  { topic: 'stock.failed', consumer: 'reservation' },
  { topic: 'reservation.cancelled', consumer: 'query' },
];

export const PHASES = ['relay', 'publish', 'broker wait', 'delivery', 'handler'] as const;
export type Phase = (typeof PHASES)[number];
export type HopTimes = Record<Phase, number>;

/** The phases (ms) of each hop found in one trace; a hop missing a span is left out. */
export function hopsOf(trace: JaegerTrace, path: readonly Hop[]): Map<string, HopTimes> {
  const service = (span: JaegerSpan) => trace.processes[span.processID]?.serviceName;
  const byId = new Map(trace.spans.map((span) => [span.spanID, span]));
  const parentOf = (span: JaegerSpan) => {
    const ref = span.references?.find((r) => r.refType === 'CHILD_OF') ?? span.references?.[0];
    return ref ? byId.get(ref.spanID) : undefined;
  };
  const children = new Map<string, JaegerSpan[]>();
  for (const span of trace.spans) {
    const parent = parentOf(span);
    if (parent) children.set(parent.spanID, [...(children.get(parent.spanID) ?? []), span]);
  }
  const end = (span: JaegerSpan) => span.startTime + span.duration;
  const ms = (us: number) => us / 1000;
  const result = new Map<string, HopTimes>();
  for (const hop of path) {
    // The first publish of the topic in this trace (a redelivery publishes nothing new).
    const publish = trace.spans
      .filter((s) => s.operationName === `${hop.topic} publish`)
      .sort((a, b) => a.startTime - b.startTime)[0];
    if (!publish) continue;
    const under = children.get(publish.spanID) ?? [];
    const delivery = under
      .filter((s) => s.operationName === `pubsub/${hop.topic}` && service(s) === hop.consumer)
      .sort((a, b) => a.startTime - b.startTime)[0];
    const handler = under
      .filter((s) => s.operationName === `${hop.topic} process` && service(s) === hop.consumer)
      .sort((a, b) => a.startTime - b.startTime)[0];
    if (!handler) continue;
    const writer = parentOf(publish);
    const handedOver = delivery?.startTime ?? handler.startTime;
    result.set(hop.topic, {
      relay: writer ? ms(Math.max(0, publish.startTime - end(writer))) : Number.NaN,
      publish: ms(publish.duration),
      'broker wait': ms(Math.max(0, handedOver - end(publish))),
      delivery: ms(Math.max(0, handler.startTime - handedOver)),
      handler: ms(handler.duration),
    });
  }
  return result;
}

/** Whether a trace is a confirmed saga (it reached query with reservation.confirmed) or a sold-out one. */
export function pathOf(trace: JaegerTrace): readonly Hop[] | undefined {
  const has = (operation: string) => trace.spans.some((s) => s.operationName === operation);
  if (has('reservation.confirmed process')) return CONFIRMED_PATH;
  if (has('reservation.cancelled process') && has('stock.failed publish')) return SOLD_OUT_PATH;
  return undefined;
}

export type Breakdown = {
  path: 'confirmed' | 'sold out';
  sagas: number;
  /** Median of each phase per hop, in ms. */
  hops: { hop: Hop; events: number; times: HopTimes }[];
};

/** The median of each phase of each hop over the traces of one system, per path. */
export function breakdown(traces: readonly JaegerTrace[]): Breakdown[] {
  const result: Breakdown[] = [];
  for (const [name, path] of [
    ['confirmed', CONFIRMED_PATH],
    ['sold out', SOLD_OUT_PATH],
  ] as const) {
    const mine = traces.filter((t) => pathOf(t) === path);
    const perHop = path.map((hop) => ({ hop, times: [] as HopTimes[] }));
    for (const trace of mine) {
      const hops = hopsOf(trace, path);
      for (const entry of perHop) {
        const times = hops.get(entry.hop.topic);
        if (times) entry.times.push(times);
      }
    }
    result.push({
      path: name,
      sagas: mine.length,
      hops: perHop.map(({ hop, times }) => ({
        hop,
        events: times.length,
        times: Object.fromEntries(
          PHASES.map((phase) => [phase, median(times.map((t) => t[phase]))]),
        ) as HopTimes,
      })),
    });
  }
  return result;
}

/** Per-hop figures of a system: for each path and hop, the median over rounds of each round's median. */
export function mergeBreakdowns(perRound: readonly Breakdown[][]): Breakdown[] {
  const first = perRound[0];
  if (!first) return [];
  return first.map((path, p) => ({
    path: path.path,
    sagas: median(perRound.map((r) => r[p]?.sagas ?? Number.NaN)),
    hops: path.hops.map((hop, h) => ({
      hop: hop.hop,
      events: median(perRound.map((r) => r[p]?.hops[h]?.events ?? Number.NaN)),
      times: Object.fromEntries(
        PHASES.map((phase) => [
          phase,
          median(perRound.map((r) => r[p]?.hops[h]?.times[phase] ?? Number.NaN)),
        ]),
      ) as Breakdown['hops'][number]['times'],
    })),
  }));
}

/** The header of the breakdown table. */
export const BREAKDOWN_HEADER = [
  `| system | path (sagas) | hop → consumer | events | ${PHASES.join(' | ')} | sum |`,
  `|---|---|---|---:|${PHASES.map(() => '---:').join('|')}|---:|`,
];

/** The breakdown of one system as rows of that table. */
export function breakdownRows(system: string, breakdowns: readonly Breakdown[]): string[] {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
  return breakdowns.flatMap((b) =>
    b.hops.map(({ hop, events, times }) => {
      const sum = PHASES.reduce((s, p) => s + (Number.isFinite(times[p]) ? times[p] : 0), 0);
      return `| ${system} | ${b.path} (${b.sagas}) | ${hop.topic} → ${hop.consumer} | ${events} | ${PHASES.map((p) => f(times[p])).join(' | ')} | ${f(sum)} |`;
    }),
  );
}

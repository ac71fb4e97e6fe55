// Types of waterfall.js (plain JavaScript, so the browser loads it as it is).

export interface JaegerKeyValue {
  key: string;
  type?: string;
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags?: JaegerKeyValue[];
  logs?: { timestamp: number; fields?: JaegerKeyValue[] }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes?: Record<string, { serviceName: string; tags?: JaegerKeyValue[] }>;
}

export interface WaterfallRow {
  spanId: string;
  depth: number;
  service: string;
  /** A span of the service's Dapr sidecar (daprd), not of the service itself. */
  sidecar: boolean;
  name: string;
  /** Microseconds from the trace's first span. */
  offsetUs: number;
  durationUs: number;
  error: boolean;
  attributes: Record<string, unknown>;
  events: { offsetUs: number; fields: Record<string, unknown> }[];
}

export interface Waterfall {
  traceId: string;
  rows: WaterfallRow[];
  services: string[];
  durationUs: number;
}

export function waterfall(trace: JaegerTrace): Waterfall;

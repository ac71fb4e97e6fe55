// A trace as Jaeger's HTTP API returns it (`GET /api/traces/<id>`), laid out as a waterfall: every
// span under its parent, in start order, with its offset from the trace's start. Shared by the trace
// page (served by the local Jaeger) and `npm run trace` in the terminal.

/**
 * @param {import('./waterfall.d.ts').JaegerTrace} trace
 * @returns {import('./waterfall.d.ts').Waterfall}
 */
export function waterfall(trace) {
  const spans = trace.spans ?? [];
  const byId = new Map(spans.map((span) => [span.spanID, span]));
  /** @type {Map<string, typeof spans>} */
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    const reference =
      (span.references ?? []).find((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID)) ??
      (span.references ?? []).find((r) => byId.has(r.spanID));
    if (!reference) {
      roots.push(span);
      continue;
    }
    const siblings = children.get(reference.spanID) ?? [];
    siblings.push(span);
    children.set(reference.spanID, siblings);
  }
  const byStart = (a, b) => a.startTime - b.startTime;
  const start = Math.min(...spans.map((s) => s.startTime));
  const end = Math.max(...spans.map((s) => s.startTime + s.duration));
  const rows = [];
  const visit = (span, depth) => {
    const process = trace.processes?.[span.processID];
    const tags = span.tags ?? [];
    rows.push({
      spanId: span.spanID,
      depth,
      service: process?.serviceName ?? span.processID,
      // daprd names its spans after its app; its instrumentation scope tells them apart.
      sidecar: tags.some((t) => t.key === 'otel.scope.name' && t.value === 'dapr-diagnostics'),
      name: span.operationName,
      offsetUs: span.startTime - start,
      durationUs: span.duration,
      error: tags.some(
        (t) =>
          (t.key === 'error' && t.value === true) || (t.key === 'otel.status_code' && t.value === 'ERROR'),
      ),
      attributes: Object.fromEntries(tags.map((t) => [t.key, t.value])),
      events: (span.logs ?? []).map((log) => ({
        offsetUs: log.timestamp - start,
        fields: Object.fromEntries((log.fields ?? []).map((f) => [f.key, f.value])),
      })),
    });
    for (const child of (children.get(span.spanID) ?? []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  const services = [...new Set(rows.map((r) => r.service))].sort();
  return { traceId: trace.traceID, rows, services, durationUs: spans.length ? end - start : 0 };
}

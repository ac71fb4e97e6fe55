// `npm run trace -- <reservation id | trace id>`: a trace of the running stack as a waterfall in the
// terminal, read from Jaeger's API like the trace page (local/trace-page) and laid out by the same
// code.
import type { JaegerTrace, Waterfall } from '../../trace-page/static/waterfall.js';
import { waterfall } from '../../trace-page/static/waterfall.js';

const TRACE_ID = /^[0-9a-f]{32}$/i;

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** The trace id itself, or the trace of a reservation (its spans carry `reservation.id`). */
export async function resolveTraceId(jaegerUrl: string, id: string): Promise<string | undefined> {
  if (TRACE_ID.test(id)) return id.toLowerCase();
  const tags = encodeURIComponent(JSON.stringify({ 'reservation.id': id }));
  const found = (await getJson(`${jaegerUrl}/api/traces?service=reservation&tags=${tags}&limit=1`)) as {
    data?: { traceID: string }[];
  };
  return found.data?.[0]?.traceID;
}

export async function fetchTrace(jaegerUrl: string, traceId: string): Promise<Waterfall | undefined> {
  const response = await fetch(`${jaegerUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(10_000) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`Jaeger answered ${response.status} for trace ${traceId}`);
  const trace = ((await response.json()) as { data?: JaegerTrace[] }).data?.[0];
  return trace ? waterfall(trace) : undefined;
}

const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;

/** The waterfall as text: start offset, a bar on a `barWidth`-column time axis, service, span, duration. */
export function formatWaterfall(view: Waterfall, barWidth = 40): string[] {
  const total = Math.max(view.durationUs, 1);
  const who = (row: Waterfall['rows'][number]) => (row.sidecar ? `${row.service} daprd` : row.service);
  const serviceWidth = Math.max(...view.rows.map((row) => who(row).length), 7);
  const lines = [
    `trace ${view.traceId}: ${view.rows.length} spans, ${view.services.length} services (${view.services.join(', ')}), ${ms(view.durationUs)}`,
    '',
  ];
  for (const row of view.rows) {
    const from = Math.min(barWidth - 1, Math.floor((row.offsetUs / total) * barWidth));
    const length = Math.max(1, Math.round((row.durationUs / total) * barWidth));
    const bar = `${' '.repeat(from)}${'█'.repeat(Math.min(length, barWidth - from))}`.padEnd(barWidth);
    const name = `${'  '.repeat(row.depth)}${row.name}${row.error ? '  ✗ error' : ''}`;
    lines.push(
      `${ms(row.offsetUs).padStart(10)} |${bar}| ${who(row).padEnd(serviceWidth)} ${name}  ${ms(row.durationUs)}`,
    );
  }
  return lines;
}

export async function printTrace(
  jaegerUrl: string,
  id: string,
  write: (line: string) => void,
): Promise<boolean> {
  const traceId = await resolveTraceId(jaegerUrl, id);
  const view = traceId ? await fetchTrace(jaegerUrl, traceId) : undefined;
  if (!view) return false;
  for (const line of formatWaterfall(view)) write(line);
  write('');
  write(`In a browser: ${jaegerUrl}/trace/${view.traceId}`);
  return true;
}

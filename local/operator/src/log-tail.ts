// The combined tail `npm start` prints: new lines of every log file of the run, prefixed with the
// process name. By default only what a person watching wants to see: warnings and errors of every
// process, and the saga's milestones (a reservation placed, each event its services publish). Every
// request is logged at info, so without the filter the walkthrough would scroll away as soon as
// there is traffic. `verbose` shows every line.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface LogTail {
  stop(): void;
}

/** Info lines of the services that mark a saga's progress. */
const MILESTONES = new Set(['reservation placed', 'event published', 'expired reservations cancelled']);

// pino levels (numbers or labels), daprd's `level=…`, and the plain-text logs of Postgres, Redis,
// Kafka and Jaeger.
const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const SEVERE = new Set(['warn', 'warning', 'error', 'fatal', 'panic']);
const DAPRD_LEVEL = /\blevel=(\w+)/;
const PLAIN_SEVERE = /\b(WARN|WARNING|ERROR|FATAL|PANIC|SEVERE)\b/;

type JsonLine = { level?: unknown; msg?: unknown; time?: unknown; [key: string]: unknown };

function parseJson(line: string): JsonLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JsonLine) : undefined;
  } catch {
    return undefined;
  }
}

function levelOf(entry: JsonLine): string {
  if (typeof entry.level === 'number') return PINO_LEVELS[entry.level] ?? String(entry.level);
  return typeof entry.level === 'string' ? entry.level.toLowerCase() : 'info';
}

/** Whether a line is shown by default (`verbose` shows every non-empty line). */
export function keepLine(file: string, line: string, verbose = false): boolean {
  if (line.trim() === '') return false;
  if (verbose) return true;
  const entry = parseJson(line);
  if (entry)
    return SEVERE.has(levelOf(entry)) || (typeof entry.msg === 'string' && MILESTONES.has(entry.msg));
  if (file.endsWith('.daprd.log')) return SEVERE.has(DAPRD_LEVEL.exec(line)?.[1]?.toLowerCase() ?? 'info');
  return PLAIN_SEVERE.test(line);
}

// Fields every service line carries, left out of the one-line rendering.
const COMMON_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'service',
  'name',
  'span_id',
  'trace_flags',
]);

/** A service's JSON line as one readable line: time, level, message, then the other fields. */
export function renderLine(line: string): string {
  const entry = parseJson(line);
  if (!entry) return line;
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !COMMON_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, levelOf(entry).toUpperCase().padEnd(5), String(entry.msg ?? ''), ...fields]
    .filter((part) => part !== '')
    .join(' ');
}

export function prefix(name: string, width: number): string {
  return `${name.padEnd(width)} | `;
}

/**
 * Follows every *.log under `dirs` (looked up on each poll, so files created later join) from the
 * moment it is called: what was already written is not repeated.
 */
export function tailLogs(
  dirs: () => string[],
  write: (line: string) => void,
  options: { intervalMs?: number; verbose?: boolean } = {},
): LogTail {
  const { intervalMs = 300, verbose = false } = options;
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  for (const dir of dirs()) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir))
      if (name.endsWith('.log')) offsets.set(join(dir, name), statSync(join(dir, name)).size);
  }
  const poll = () => {
    for (const dir of dirs()) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (!name.endsWith('.log')) continue;
        const file = join(dir, name);
        const size = statSync(file).size;
        const from = offsets.get(file) ?? 0;
        if (size <= from) continue;
        const buffer = Buffer.alloc(Math.min(size - from, 1 << 20));
        const fd = openSync(file, 'r');
        const read = readSync(fd, buffer, 0, buffer.length, from);
        closeSync(fd);
        offsets.set(file, from + read);
        const text = (partial.get(file) ?? '') + buffer.subarray(0, read).toString('utf8');
        const lines = text.split('\n');
        partial.set(file, lines.pop() ?? '');
        const label = name.replace(/\.log$/, '');
        for (const line of lines)
          if (keepLine(name, line, verbose)) write(`${prefix(label, 20)}${renderLine(line)}`);
      }
    }
  };
  const timer = setInterval(poll, intervalMs);
  return { stop: () => clearInterval(timer) };
}

// The combined tail `npm start` prints: new lines of every log file of the run, prefixed with the
// process name. Sidecars are chatty at info level, so only their warnings and errors are shown.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface LogTail {
  stop(): void;
}

const DAPRD_NOISE = /level=(info|debug)/;

export function keepLine(file: string, line: string): boolean {
  if (line.trim() === '') return false;
  return !(file.endsWith('.daprd.log') && DAPRD_NOISE.test(line));
}

export function prefix(name: string, width: number): string {
  return `${name.padEnd(width)} | `;
}

/**
 * Follows every *.log under `dirs` (looked up on each poll, so files created later join) from the
 * moment it is called: what was already written is not repeated.
 */
export function tailLogs(dirs: () => string[], write: (line: string) => void, intervalMs = 300): LogTail {
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
        for (const line of lines) if (keepLine(name, line)) write(`${prefix(label, 20)}${line}`);
      }
    }
  };
  const timer = setInterval(poll, intervalMs);
  return { stop: () => clearInterval(timer) };
}

import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepLine, tailLogs } from './log-tail.ts';

describe('keepLine', () => {
  it('keeps a sidecar’s warnings and drops its info chatter', () => {
    expect(keepLine('payment.daprd.log', 'time=x level=info msg="app is healthy"')).toBe(false);
    expect(keepLine('payment.daprd.log', 'time=x level=warning msg="retrying"')).toBe(true);
    expect(keepLine('payment.log', '{"level":30,"msg":"listening"}')).toBe(true);
    expect(keepLine('payment.log', '   ')).toBe(false);
  });
});

describe('tailLogs', () => {
  it('prints only lines written after it started, prefixed with the process name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tail-'));
    writeFileSync(join(dir, 'kafka.log'), 'old line\n');
    const lines: string[] = [];
    const tail = tailLogs(
      () => [dir],
      (line) => lines.push(line),
      20,
    );
    appendFileSync(join(dir, 'kafka.log'), 'new line\npartial');
    writeFileSync(join(dir, 'late.log'), 'late line\n');
    await new Promise((r) => setTimeout(r, 120));
    tail.stop();
    expect(lines.map((l) => l.replace(/\s+\|/, ' |'))).toEqual(['kafka | new line', 'late | late line']);
  });
});

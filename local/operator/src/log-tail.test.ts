import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { keepLine, renderLine, tailLogs } from './log-tail.ts';

describe('keepLine', () => {
  it('keeps a sidecar’s warnings and drops its info chatter', () => {
    expect(keepLine('payment.daprd.log', 'time=x level=info msg="app is healthy"')).toBe(false);
    expect(keepLine('payment.daprd.log', 'time=x level=warning msg="retrying"')).toBe(true);
    expect(keepLine('payment.daprd.log', 'time=x level=error msg="failed"')).toBe(true);
    expect(keepLine('payment.log', '   ')).toBe(false);
  });

  it('keeps a service’s warnings, errors and saga milestones, not every request', () => {
    const line = (level: string | number, msg: string) => JSON.stringify({ level, time: 't', msg });
    expect(keepLine('payment.log', line('info', 'request'))).toBe(false);
    expect(keepLine('payment.log', line(30, 'listening'))).toBe(false);
    expect(keepLine('payment.log', line('warn', 'publish failed'))).toBe(true);
    expect(keepLine('payment.log', line(50, 'boom'))).toBe(true);
    expect(keepLine('reservation.log', line('info', 'reservation placed'))).toBe(true);
    expect(keepLine('payment.log', line('info', 'event published'))).toBe(true);
  });

  it('keeps the warnings and errors of the infrastructure’s plain-text logs', () => {
    expect(keepLine('postgres.log', 'LOG:  database system is ready to accept connections')).toBe(false);
    expect(keepLine('postgres.log', 'ERROR:  relation "x" does not exist')).toBe(true);
    expect(keepLine('kafka.log', '[2026-11-30 10:00:00,000] WARN [Broker id=1] slow')).toBe(true);
  });

  it('keeps every line when verbose', () => {
    expect(keepLine('payment.log', JSON.stringify({ level: 'info', msg: 'request' }), true)).toBe(true);
    expect(keepLine('payment.daprd.log', 'level=info msg="app is healthy"', true)).toBe(true);
  });
});

describe('renderLine', () => {
  it('shows a service line as time, level, message and its own fields', () => {
    const line = JSON.stringify({
      level: 'info',
      time: '2026-11-30T10:00:01.234Z',
      pid: 7,
      msg: 'event published',
      topic: 'stock.reserved',
      reservation_id: 'r1',
    });
    expect(renderLine(line)).toBe('10:00:01 INFO  event published topic=stock.reserved reservation_id=r1');
    expect(renderLine('plain text')).toBe('plain text');
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
      { intervalMs: 20, verbose: true },
    );
    appendFileSync(join(dir, 'kafka.log'), 'new line\npartial');
    writeFileSync(join(dir, 'late.log'), 'late line\n');
    await vi.waitFor(
      () =>
        expect(lines.map((l) => l.replace(/\s+\|/, ' |'))).toEqual(['kafka | new line', 'late | late line']),
      { timeout: 5000, interval: 20 },
    );
    tail.stop();
  });
});

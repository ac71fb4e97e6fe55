// A service started without a required variable stops at once, exit code 1, with exactly one line
// on stderr naming the variable — before it touches the database or the sidecar.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { producerApp } from './support.ts';

function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [producerApp], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, signal: result.signal, stderr: result.stderr, stdout: result.stdout };
}

describe('configuration at start-up', () => {
  it('a missing DATABASE_URL stops the service with one line naming it', () => {
    const { status, signal, stderr } = start({ SERVICE_NAME: 'platform-producer', PORT: '0' });
    expect(signal).toBeNull();
    expect(status).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DATABASE_URL');
    expect(lines[0]).toMatch(/missing/);
  });

  it('a malformed PORT stops it the same way, naming PORT and what was expected, without echoing the value', () => {
    const { status, stderr } = start({
      SERVICE_NAME: 'platform-producer',
      PORT: 'eighty',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(status).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT is malformed \(expected an integer/);
    expect(lines[0]).not.toContain('eighty');
  });
});

// `npm run test:cluster` refuses what it cannot work with in one clear line, before it starts anything:
// here, a caller that is not root (as root, the script is run under the unprivileged user `nobody`)
// and an argument it does not know.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', 'cluster', 'run.sh');
const cache = mkdtempSync(join(tmpdir(), 'reservex-cluster-prerequisites-'));
const NOBODY = 65534;

function runCluster(args: string[], asRoot = process.getuid?.() === 0) {
  const command = asRoot
    ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'bash', script, ...args]]
    : ['bash', [script, ...args]];
  return spawnSync(command[0] as string, command[1] as string[], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cache, RESERVEX_CACHE: cache },
  });
}

describe('npm run test:cluster: prerequisites', () => {
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('says in one line that it needs root, and starts nothing', () => {
    const result = runCluster([]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      'test:cluster: FAILED: needs root (it runs containerd, a kubelet, iptables and mounts); run it as root',
    ]);
  });

  it('refuses an unknown argument in one line', () => {
    const result = runCluster(['--frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'test:cluster: unknown argument --frobnicate (--keep or --down)',
    ]);
  });
});

// The Go build mechanism daprd, sentry and Jaeger share, with a `go` that only records what it is
// asked and writes a binary where `-o` says: a real build takes minutes and a cold cache.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { builtPath, findGoBuild, type GoBuild, provisionGoBuild } from './go.ts';

let scratch: string;
let cache: string;
let module: string;
let calls: string;

const fakeGo = `#!/bin/sh
echo "$(pwd)|$GOTOOLCHAIN|$*" >> "$CALLS"
[ -n "$FAIL" ] && { echo "go: $FAIL" >&2; exit 1; }
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
[ -n "$out" ] && { printf '#!/bin/sh\\necho built\\n' > "$out"; chmod +x "$out"; }
exit 0
`;

function tool(overrides: Partial<GoBuild> = {}): GoBuild {
  return {
    name: 'tool',
    version: '1.0.0',
    module,
    sources: ['go.mod', 'cmd/main.go'],
    building: 'the tool',
    commands: (output) => [
      { args: ['mod', 'download'], heartbeat: 'tool: downloading' },
      { args: ['build', '-o', output, './cmd'], heartbeat: 'tool: compiling' },
    ],
    ...overrides,
  };
}

const recorded = () =>
  existsSync(calls)
    ? readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('|'))
    : [];

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'reservex-go-'));
  cache = join(scratch, 'cache');
  module = join(scratch, 'module');
  calls = join(scratch, 'calls');
  mkdirSync(join(module, 'cmd'), { recursive: true });
  writeFileSync(join(module, 'go.mod'), 'module example.com/tool\n');
  writeFileSync(join(module, 'cmd', 'main.go'), 'package main\nfunc main() {}\n');
  const go = join(scratch, 'go');
  writeFileSync(go, fakeGo);
  chmodSync(go, 0o755);
  vi.stubEnv('RESERVEX_GO', go);
  vi.stubEnv('CALLS', calls);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a Go build of a wrapper module', () => {
  it('runs its commands in a copy of the module, in order, and caches the binary under its inputs', async () => {
    const binary = await provisionGoBuild(cache, tool());
    expect(binary).toBe(builtPath(cache, tool()));
    expect(binary).toMatch(/\/tool-1\.0\.0-[0-9a-f]{12}\/tool$/);
    const dir = join(cache, 'build', 'tool');
    expect(recorded()).toEqual([
      [dir, 'local', 'mod download'],
      [dir, 'local', `build -o ${binary}.partial ./cmd`],
    ]);
    expect(existsSync(dir), 'the build folder is removed').toBe(false);
    expect(existsSync(`${binary}.partial`)).toBe(false);
  });

  it('is found again without running Go, and built again when a source changes', async () => {
    const first = await provisionGoBuild(cache, tool());
    expect(findGoBuild(cache, tool())).toBe(first);
    expect(await provisionGoBuild(cache, tool())).toBe(first);
    expect(recorded()).toHaveLength(2);

    writeFileSync(join(module, 'go.mod'), 'module example.com/tool\n\ngo 1.26\n');
    expect(findGoBuild(cache, tool())).toBeUndefined();
    const second = await provisionGoBuild(cache, tool());
    expect(second).not.toBe(first);
    expect(recorded()).toHaveLength(4);
  });

  it('copies each source to its own path and lets the build add to the folder', async () => {
    const seen: string[] = [];
    await provisionGoBuild(
      cache,
      tool({
        prepare: (dir) => {
          writeFileSync(join(dir, 'overlay.json'), '{}');
          seen.push(
            readFileSync(join(dir, 'cmd', 'main.go'), 'utf8'),
            readFileSync(join(dir, 'overlay.json'), 'utf8'),
          );
        },
      }),
    );
    expect(seen).toEqual(['package main\nfunc main() {}\n', '{}']);
  });

  it('prefers an installed copy and skips one that is not there', async () => {
    const installed = join(scratch, 'installed-tool');
    writeFileSync(installed, '#!/bin/sh\n');
    chmodSync(installed, 0o755);
    const build = tool({ installed: () => [undefined, join(scratch, 'absent'), installed] });
    expect(await provisionGoBuild(cache, build)).toBe(installed);
    expect(recorded()).toEqual([]);
  });

  it('fails with the end of its log and leaves nothing in the cache when a command fails', async () => {
    vi.stubEnv('FAIL', 'module lookup disabled');
    await expect(provisionGoBuild(cache, tool())).rejects.toThrow(
      /mod download failed.*\n.*module lookup disabled/s,
    );
    expect(findGoBuild(cache, tool())).toBeUndefined();
    expect(readFileSync(join(cache, 'logs', 'provision-tool.log'), 'utf8')).toContain(
      'module lookup disabled',
    );
  });
});

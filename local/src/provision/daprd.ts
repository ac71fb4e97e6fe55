// daprd: one already installed (RESERVEX_DAPRD, ~/.dapr/bin, PATH) or a build of the pinned Dapr
// release from local/provision/daprd (only the components we use, so the build stays small). Dapr's
// sentry is built from the same module (local/provision/daprd/sentry), after daprd, so it reuses the
// compiled packages in Go's build cache.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { provisionDir } from '../paths.ts';
import { elapsed, say } from '../progress.ts';
import { isExecutable, onPath, runCommand } from './command.ts';
import { goBinary, goEnv } from './go.ts';
import { inputsHash } from './inputs.ts';

export const DAPR_VERSION = '1.18.2';
const SOURCES = ['go.mod', 'go.sum', 'main.go', 'stub/components.go.txt'] as const;
const NOTAG = 'vendor/github.com/dapr/dapr/cmd/daprd/components/zz_notag.go';

export function installedDaprd(): string | undefined {
  const candidates = [process.env.RESERVEX_DAPRD, join(homedir(), '.dapr', 'bin', 'daprd'), onPath('daprd')];
  return candidates.find((c): c is string => c !== undefined && isExecutable(c));
}

function cachedPath(cache: string): string {
  const source = join(provisionDir, 'daprd');
  return join(cache, `daprd-${DAPR_VERSION}-${inputsHash(source, SOURCES)}`, 'daprd');
}

export function findDaprd(cache: string): string | undefined {
  return installedDaprd() ?? [cachedPath(cache)].find(isExecutable);
}

export async function provisionDaprd(cache: string, signal?: AbortSignal): Promise<string> {
  const found = findDaprd(cache);
  if (found) return found;
  const target = cachedPath(cache);
  const started = performance.now();
  say(`daprd: building Dapr ${DAPR_VERSION} from the Go module proxy (a few minutes when cold)`);
  const source = join(provisionDir, 'daprd');
  const build = join(cache, 'build', 'daprd');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  for (const file of ['go.mod', 'go.sum', 'main.go']) copyFileSync(join(source, file), join(build, file));
  copyFileSync(join(source, 'stub', 'components.go.txt'), join(build, 'components_stub.go.txt'));
  // Upstream's zz_notag.go panics when no component tag set is chosen; an overlay swaps it for our
  // stub. Overlays may not point into the module cache, hence the vendor directory.
  writeFileSync(
    join(build, 'overlay.json'),
    JSON.stringify({ Replace: { [join(build, NOTAG)]: join(build, 'components_stub.go.txt') } }),
  );
  const logFile = join(cache, 'logs', 'provision-daprd.log');
  const options = { cwd: build, env: goEnv(), logFile, timeoutMs: 45 * 60_000, signal };
  const go = goBinary();
  await runCommand(go, ['mod', 'vendor'], { ...options, heartbeat: 'daprd: downloading modules' });
  const partial = `${target}.partial`;
  mkdirSync(join(target, '..'), { recursive: true });
  const ldflags = `-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}`;
  await runCommand(
    go,
    [
      'build',
      '-mod=vendor',
      '-overlay',
      'overlay.json',
      '-trimpath',
      '-ldflags',
      ldflags,
      '-o',
      partial,
      '.',
    ],
    { ...options, heartbeat: 'daprd: compiling' },
  );
  renameSync(partial, target);
  rmSync(build, { recursive: true, force: true });
  if (!existsSync(target)) throw new Error(`daprd build produced nothing at ${target}`);
  say(`daprd: built in ${elapsed(started)} → ${target}`);
  return target;
}

const SENTRY_SOURCES = ['go.mod', 'go.sum', 'sentry/main.go'] as const;

function cachedSentryPath(cache: string): string {
  const source = join(provisionDir, 'daprd');
  return join(cache, `sentry-${DAPR_VERSION}-${inputsHash(source, SENTRY_SOURCES)}`, 'sentry');
}

/** sentry: RESERVEX_SENTRY, one installed next to daprd (~/.dapr/bin), or our build. */
export function findSentry(cache: string): string | undefined {
  const candidates = [
    process.env.RESERVEX_SENTRY,
    join(homedir(), '.dapr', 'bin', 'sentry'),
    cachedSentryPath(cache),
  ];
  return candidates.find((c): c is string => c !== undefined && isExecutable(c));
}

export async function provisionSentry(cache: string, signal?: AbortSignal): Promise<string> {
  const found = findSentry(cache);
  if (found) return found;
  const target = cachedSentryPath(cache);
  const started = performance.now();
  say(`sentry: building Dapr ${DAPR_VERSION}'s certificate authority (a few minutes when cold)`);
  const source = join(provisionDir, 'daprd');
  const build = join(cache, 'build', 'sentry');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(join(build, 'sentry'), { recursive: true });
  for (const file of SENTRY_SOURCES) copyFileSync(join(source, file), join(build, file));
  const logFile = join(cache, 'logs', 'provision-sentry.log');
  const partial = `${target}.partial`;
  mkdirSync(join(target, '..'), { recursive: true });
  const ldflags = `-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}`;
  await runCommand(
    goBinary(),
    ['build', '-mod=readonly', '-trimpath', '-ldflags', ldflags, '-o', partial, './sentry'],
    { cwd: build, env: goEnv(), logFile, timeoutMs: 45 * 60_000, signal, heartbeat: 'sentry: compiling' },
  );
  renameSync(partial, target);
  rmSync(build, { recursive: true, force: true });
  say(`sentry: built in ${elapsed(started)} → ${target}`);
  return target;
}

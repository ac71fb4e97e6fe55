// Go builds of pinned upstream releases from small wrapper modules in local/provision. The committed
// go.sum pins every module's hash, so nothing depends on the checksum database being reachable.
// A build is found again in the cache under a hash of the module files it reads, so changing a pinned
// version rebuilds and an unchanged one is found without running Go at all.
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { elapsed, say } from '../progress.ts';
import { isExecutable, onPath, runCommand } from './command.ts';
import { inputsHash } from './inputs.ts';

export function goBinary(): string {
  const go = process.env.RESERVEX_GO ?? onPath('go') ?? ['/usr/local/go/bin/go'].find(isExecutable);
  if (!go) throw new Error('Go (1.26 or newer) is needed to build daprd and Jaeger: put `go` on PATH');
  return go;
}

/** The environment every Go step runs with: no toolchain download, no cgo, no VCS stamping. */
export function goEnv(): Record<string, string> {
  return { GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' };
}

/** One `go` command of a build, run in the build folder. */
export type GoCommand = { args: readonly string[]; heartbeat: string };

/** A binary built with Go from a wrapper module. */
export interface GoBuild {
  /** The binary's name: its cache folder, its log (`provision-<name>.log`), its progress lines. */
  name: string;
  version: string;
  /** The wrapper module's folder. */
  module: string;
  /** The module's files the build reads, relative to it: copied into the build folder, and hashed. */
  sources: readonly string[];
  /** Copies already on the machine, preferred to a build (an undefined entry is skipped). */
  installed?: () => readonly (string | undefined)[];
  /** What the progress line says is being built. */
  building: string;
  /** Adds what the build needs beyond the sources to the build folder (an overlay, say). */
  prepare?: (dir: string) => void;
  /** The `go` commands, in order; the last one writes the binary to `output`. */
  commands: (output: string) => readonly GoCommand[];
}

/** Where the build of these inputs lives in the cache. */
export function builtPath(cache: string, build: GoBuild): string {
  const key = inputsHash(build.module, build.sources);
  return join(cache, `${build.name}-${build.version}-${key}`, build.name);
}

/** An installed copy, or the cached build of the current inputs. */
export function findGoBuild(cache: string, build: GoBuild): string | undefined {
  const candidates = [...(build.installed?.() ?? []), builtPath(cache, build)];
  return candidates.find((c): c is string => c !== undefined && isExecutable(c));
}

/**
 * The binary: found, or built into the cache. The build runs in a scratch folder of the cache and
 * writes next to its target, which it takes only once every command has succeeded.
 */
export async function provisionGoBuild(cache: string, build: GoBuild, signal?: AbortSignal): Promise<string> {
  const found = findGoBuild(cache, build);
  if (found) return found;
  const target = builtPath(cache, build);
  const started = performance.now();
  say(`${build.name}: building ${build.building} from the Go module proxy (a few minutes when cold)`);
  const dir = join(cache, 'build', build.name);
  rmSync(dir, { recursive: true, force: true });
  for (const file of build.sources) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(build.module, file), join(dir, file));
  }
  build.prepare?.(dir);
  mkdirSync(dirname(target), { recursive: true });
  mkdirSync(join(cache, 'logs'), { recursive: true });
  const partial = `${target}.partial`;
  const options = {
    cwd: dir,
    env: goEnv(),
    logFile: join(cache, 'logs', `provision-${build.name}.log`),
    timeoutMs: 45 * 60_000,
    ...(signal ? { signal } : {}),
  };
  const go = goBinary();
  for (const command of build.commands(partial))
    await runCommand(go, command.args, { ...options, heartbeat: command.heartbeat });
  if (!isExecutable(partial)) throw new Error(`${build.name}: the build produced nothing at ${partial}`);
  renameSync(partial, target);
  rmSync(dir, { recursive: true, force: true });
  say(`${build.name}: built in ${elapsed(started)} → ${target}`);
  return target;
}

// Jaeger v2 (an OpenTelemetry Collector distribution) built from local/provision/jaeger, which pins
// the release through the Go module that carries it.
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { provisionDir } from '../paths.ts';
import { elapsed, say } from '../progress.ts';
import { isExecutable, runCommand } from './command.ts';
import { goBinary, goEnv } from './go.ts';
import { inputsHash } from './inputs.ts';

export const JAEGER_VERSION = '2.13.0';
const SOURCES = ['go.mod', 'go.sum', 'tools.go'] as const;

function cachedPath(cache: string): string {
  return join(
    cache,
    `jaeger-${JAEGER_VERSION}-${inputsHash(join(provisionDir, 'jaeger'), SOURCES)}`,
    'jaeger',
  );
}

/** A `jaeger` on PATH is not used: it may be v1, whose flags and configuration differ. */
export function findJaeger(cache: string): string | undefined {
  const candidates = [process.env.RESERVEX_JAEGER, cachedPath(cache)];
  return candidates.find((c): c is string => c !== undefined && isExecutable(c));
}

export async function provisionJaeger(cache: string, signal?: AbortSignal): Promise<string> {
  const found = findJaeger(cache);
  if (found) return found;
  const target = cachedPath(cache);
  const started = performance.now();
  say(`jaeger: building Jaeger ${JAEGER_VERSION} from the Go module proxy (a few minutes when cold)`);
  const build = join(cache, 'build', 'jaeger');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  for (const file of SOURCES) copyFileSync(join(provisionDir, 'jaeger', file), join(build, file));
  mkdirSync(join(target, '..'), { recursive: true });
  const partial = `${target}.partial`;
  await runCommand(
    goBinary(),
    ['build', '-trimpath', '-ldflags', '-s -w', '-o', partial, 'github.com/jaegertracing/jaeger/cmd/jaeger'],
    {
      cwd: build,
      env: goEnv(),
      logFile: join(cache, 'logs', 'provision-jaeger.log'),
      timeoutMs: 45 * 60_000,
      heartbeat: 'jaeger: downloading modules and compiling',
      signal,
    },
  );
  renameSync(partial, target);
  rmSync(build, { recursive: true, force: true });
  say(`jaeger: built in ${elapsed(started)} → ${target}`);
  return target;
}

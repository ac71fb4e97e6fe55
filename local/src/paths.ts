// Where things live: the repository, the provisioning cache (outside the repository, shared by every
// checkout) and the run directories (data, logs and Dapr resources of one running stack).
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const provisionDir = join(repoRoot, 'local', 'provision');

export function cacheDir(): string {
  return process.env.RESERVEX_CACHE ?? join(homedir(), '.cache', 'reservex');
}

/**
 * Node's on-disk compile cache for the stack's own Node processes (apps, watchdogs): the type-stripped
 * source and V8's code cache of every module, checked against each file's content, so an unchanged
 * module is neither stripped nor compiled again. Several apps start together on few cores, and loading
 * their modules is most of what they do until they listen.
 */
export function compileCacheEnv(): { NODE_COMPILE_CACHE: string } {
  return { NODE_COMPILE_CACHE: join(cacheDir(), 'node-compile-cache') };
}

/**
 * Run directories live under the system temp dir, not the cache: Postgres runs as the `postgres`
 * user when we are root, and that user cannot enter root's home.
 */
export function runsDir(): string {
  return process.env.RESERVEX_RUNS ?? join(tmpdir(), 'reservex');
}

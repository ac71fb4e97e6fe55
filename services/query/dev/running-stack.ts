// Finds the running local stack (`npm start`) for the developer commands in this folder: its infra.json, the newest
// one under the runs directory, or the one RESERVEX_INFRA names.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraInfo } from '@reservex/local';

/** A run directory names its owner's pid in `owner`; a stack whose owner exited is not running. */
function ownerAlive(runDir: string): boolean {
  try {
    process.kill(Number(readFileSync(join(runDir, 'owner'), 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

export function runningInfra(): InfraInfo {
  const explicit = process.env.RESERVEX_INFRA;
  if (explicit) return JSON.parse(readFileSync(explicit, 'utf8')) as InfraInfo;
  const runs = process.env.RESERVEX_RUNS ?? join(tmpdir(), 'reservex');
  const newest = (existsSync(runs) ? readdirSync(runs) : [])
    .map((name) => join(runs, name, 'infra.json'))
    .filter((file) => existsSync(file) && ownerAlive(join(file, '..')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) {
    console.error(`no running local stack under ${runs}: start it with \`npm start\`, or set RESERVEX_INFRA`);
    process.exit(1);
  }
  return JSON.parse(readFileSync(newest, 'utf8')) as InfraInfo;
}

// daprd: one already installed (RESERVEX_DAPRD, ~/.dapr/bin, PATH) or a build of the pinned Dapr
// release from local/provision/daprd (only the components we use, so the build stays small). Dapr's
// sentry is built from the same module (local/provision/daprd/sentry), after daprd, so it reuses the
// compiled packages in Go's build cache.
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { provisionDir } from '../paths.ts';
import { onPath } from './command.ts';
import { findGoBuild, type GoBuild, provisionGoBuild } from './go.ts';

export const DAPR_VERSION = '1.18.2';
const module = join(provisionDir, 'daprd');
const ldflags = `-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}`;
const STUB = 'stub/components.go.txt';
const NOTAG = 'vendor/github.com/dapr/dapr/cmd/daprd/components/zz_notag.go';

const daprd: GoBuild = {
  name: 'daprd',
  version: DAPR_VERSION,
  module,
  sources: ['go.mod', 'go.sum', 'main.go', STUB],
  installed: () => [process.env.RESERVEX_DAPRD, join(homedir(), '.dapr', 'bin', 'daprd'), onPath('daprd')],
  building: `Dapr ${DAPR_VERSION}`,
  // Upstream's zz_notag.go panics when no component tag set is chosen; an overlay swaps it for our
  // stub. Overlays may not point into the module cache, hence the vendor directory.
  prepare: (dir) =>
    writeFileSync(
      join(dir, 'overlay.json'),
      JSON.stringify({ Replace: { [join(dir, NOTAG)]: join(dir, STUB) } }),
    ),
  commands: (output) => [
    { args: ['mod', 'vendor'], heartbeat: 'daprd: downloading modules' },
    {
      args: [
        'build',
        '-mod=vendor',
        '-overlay',
        'overlay.json',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        output,
        '.',
      ],
      heartbeat: 'daprd: compiling',
    },
  ],
};

/** sentry: RESERVEX_SENTRY, one installed next to daprd (~/.dapr/bin), or our build. */
const sentry: GoBuild = {
  name: 'sentry',
  version: DAPR_VERSION,
  module,
  sources: ['go.mod', 'go.sum', 'sentry/main.go'],
  installed: () => [process.env.RESERVEX_SENTRY, join(homedir(), '.dapr', 'bin', 'sentry')],
  building: `Dapr ${DAPR_VERSION}'s certificate authority`,
  commands: (output) => [
    {
      args: ['build', '-mod=readonly', '-trimpath', '-ldflags', ldflags, '-o', output, './sentry'],
      heartbeat: 'sentry: compiling',
    },
  ],
};

export const findDaprd = (cache: string) => findGoBuild(cache, daprd);
export const provisionDaprd = (cache: string, signal?: AbortSignal) => provisionGoBuild(cache, daprd, signal);
export const findSentry = (cache: string) => findGoBuild(cache, sentry);
export const provisionSentry = (cache: string, signal?: AbortSignal) =>
  provisionGoBuild(cache, sentry, signal);

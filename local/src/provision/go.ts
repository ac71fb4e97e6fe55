// Go builds of pinned upstream releases from small wrapper modules in local/provision. The committed
// go.sum pins every module's hash, so nothing depends on the checksum database being reachable.
import { isExecutable, onPath } from './command.ts';

export function goBinary(): string {
  const go = process.env.RESERVEX_GO ?? onPath('go') ?? ['/usr/local/go/bin/go'].find(isExecutable);
  if (!go) throw new Error('Go (1.26 or newer) is needed to build daprd and Jaeger: put `go` on PATH');
  return go;
}

/** The environment every Go step runs with: no toolchain download, no cgo, no VCS stamping. */
export function goEnv(): Record<string, string> {
  return { GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' };
}

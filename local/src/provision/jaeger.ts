// Jaeger v2 (an OpenTelemetry Collector distribution) built from local/provision/jaeger, which pins
// the release through the Go module that carries it.
import { join } from 'node:path';
import { provisionDir } from '../paths.ts';
import { findGoBuild, type GoBuild, provisionGoBuild } from './go.ts';

export const JAEGER_VERSION = '2.13.0';

const jaeger: GoBuild = {
  name: 'jaeger',
  version: JAEGER_VERSION,
  module: join(provisionDir, 'jaeger'),
  sources: ['go.mod', 'go.sum', 'tools.go'],
  // A `jaeger` on PATH is not used: it may be v1, whose flags and configuration differ.
  installed: () => [process.env.RESERVEX_JAEGER],
  building: `Jaeger ${JAEGER_VERSION}`,
  commands: (output) => [
    {
      args: [
        'build',
        '-trimpath',
        '-ldflags',
        '-s -w',
        '-o',
        output,
        'github.com/jaegertracing/jaeger/cmd/jaeger',
      ],
      heartbeat: 'jaeger: downloading modules and compiling',
    },
  ],
};

export const findJaeger = (cache: string) => findGoBuild(cache, jaeger);
export const provisionJaeger = (cache: string, signal?: AbortSignal) =>
  provisionGoBuild(cache, jaeger, signal);

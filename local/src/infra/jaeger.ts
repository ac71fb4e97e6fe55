// Jaeger v2 with in-memory storage: OTLP in (gRPC for the sidecars, HTTP for the services), the
// query API and our trace page (local/trace-page) out, each on its own loopback port.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Restartable, restartable } from '../control.ts';
import { repoRoot } from '../paths.ts';
import { httpOk, waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';

/** The trace page the local Jaeger serves as its UI. */
export const tracePageDir = join(repoRoot, 'local', 'trace-page');

export interface JaegerPorts {
  otlpGrpc: number;
  otlpHttp: number;
  query: number;
  queryGrpc: number;
}

export interface JaegerInfo {
  /** OTLP/HTTP base URL (services' OTEL_EXPORTER_OTLP_ENDPOINT). */
  otlpHttpUrl: string;
  /** host:port of the OTLP/gRPC receiver (the sidecars' tracing endpoint). */
  otlpGrpcEndpoint: string;
  /** The UI; its HTTP API is under /api (e.g. /api/traces/<id>). */
  uiUrl: string;
}

export function jaegerConfig(ports: JaegerPorts, maxTraces = 50_000): Record<string, unknown> {
  const at = (port: number) => `127.0.0.1:${port}`;
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      // Jaeger's own telemetry stays off: it would trace itself into a default port.
      telemetry: { metrics: { level: 'none' }, traces: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: maxTraces } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        // The query service would trace itself to the default OTLP port (nobody there).
        enable_tracing: false,
        http: { endpoint: at(ports.query) },
        grpc: { endpoint: at(ports.queryGrpc) },
        // Jaeger's UI assets are built from a project no reachable registry carries: its UI is our
        // trace page (index.html for every path, /trace/<id> included; /static/ for its script).
        ui: { assets_path: tracePageDir },
      },
    },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: at(ports.otlpGrpc) }, http: { endpoint: at(ports.otlpHttp) } } },
    },
    // Short batches: a test reads a trace back a moment after the request that made it.
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
}

/** Where the run's Jaeger on `ports` answers (known before it does). */
export function jaegerInfo(ports: JaegerPorts): JaegerInfo {
  return {
    otlpHttpUrl: `http://127.0.0.1:${ports.otlpHttp}`,
    otlpGrpcEndpoint: `127.0.0.1:${ports.otlpGrpc}`,
    uiUrl: `http://127.0.0.1:${ports.query}`,
  };
}

export async function startJaeger(
  run: Run,
  binary: string,
  ports: JaegerPorts,
): Promise<{ info: JaegerInfo; process: Restartable }> {
  const config = join(run.dir, 'jaeger.yaml');
  writeFileSync(config, stringify(jaegerConfig(ports)));
  const info = jaegerInfo(ports);
  const process = restartable(run, {
    spec: { name: 'jaeger', command: binary, args: ['--config', config] },
    ready: (started) =>
      waitUntil('jaeger', () => httpOk(`${info.uiUrl}/api/services`), {
        timeoutMs: 60_000,
        process: started,
      }),
  });
  await process.start();
  return { info, process };
}

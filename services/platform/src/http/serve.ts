import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { logger as processLogger } from '../telemetry/index.ts';
import { markDraining } from './app.ts';

export type ShutdownHook = () => Promise<unknown> | unknown;

export type ServeOptions = {
  port: number;
  host?: string;
  /**
   * Connections the kernel may queue before the process accepts them (capped by the system's
   * somaxconn). Node's default is 511; a burst of new connections beyond it (a sale opening, or a
   * replica's clients reconnecting elsewhere) has its handshakes dropped, and each client retries
   * after 1, 3, 7, 15… s. Default 4096.
   */
  backlog?: number;
  /**
   * Run as soon as the listener stops accepting, before in-flight requests are awaited: end
   * long-lived responses (held event streams) whose clients reconnect elsewhere.
   */
  onDraining?: ShutdownHook[];
  /** Run in order after the listener has closed and in-flight requests finished. */
  onShutdown?: ShutdownHook | ShutdownHook[];
  /** Bound for the whole shutdown; past it open connections are cut and the process exits 1. */
  shutdownTimeoutMs?: number;
  /** Signals that start a graceful shutdown. Default SIGTERM and SIGINT; [] to handle none. */
  signals?: NodeJS.Signals[];
  /** Exit the process once a signal-triggered shutdown is done. Default true. */
  exitOnSignal?: boolean;
  logger?: Logger;
};

export type RunningServer = {
  server: ServerType;
  /** Resolves with the bound address once the port is open (useful with port 0). */
  listening: Promise<AddressInfo>;
  /**
   * Stops accepting connections, lets in-flight requests finish, runs the shutdown hooks in order.
   * Resolves true when all of it finished within the timeout. Idempotent.
   */
  shutdown(reason?: string): Promise<boolean>;
};

/**
 * Listens on `host:port` and shuts down gracefully on SIGTERM/SIGINT: `/readyz` turns 503, the
 * listener closes, in-flight requests finish, hooks run (stop relays, close the database, flush
 * telemetry), bounded by `shutdownTimeoutMs`.
 */
// biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes.
export function serve(app: Hono<any, any, any>, options: ServeOptions): RunningServer {
  const log = options.logger ?? processLogger;
  const hooks = options.onShutdown === undefined ? [] : [options.onShutdown].flat();
  const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];

  let resolveListening!: (address: AddressInfo) => void;
  let rejectListening!: (error: unknown) => void;
  const listening = new Promise<AddressInfo>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  server.listen(
    { port: options.port, host: options.host ?? '0.0.0.0', backlog: options.backlog ?? 4096 },
    () => {
      const info = server.address() as AddressInfo;
      log.info({ address: info.address, port: info.port }, 'listening');
      resolveListening(info);
    },
  );
  server.once('error', (error) => {
    log.fatal({ err: error }, 'cannot listen');
    rejectListening(error);
  });

  let shuttingDown: Promise<boolean> | undefined;
  const shutdown = (reason = 'shutdown requested') => {
    shuttingDown ??= drain(reason);
    return shuttingDown;
  };

  async function drain(reason: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    log.info({ reason, timeout_ms: timeoutMs }, 'shutting down');
    markDraining(app);
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
    // close() only drops the connections idle at that moment; a keep-alive connection whose request
    // finishes later would hold the server open until its keep-alive timeout. Sweep them as they idle.
    const sweep = setInterval(() => {
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    }, 50);
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    for (const hook of options.onDraining ?? []) {
      try {
        await hook();
      } catch (error) {
        log.error({ err: error }, 'draining hook failed');
      }
    }
    let clean = await within(closed, deadline).finally(() => clearInterval(sweep));
    if (!clean) {
      log.warn('in-flight requests did not finish in time; closing their connections');
      if ('closeAllConnections' in server) server.closeAllConnections();
    }
    for (const hook of hooks) {
      const finished = await within(
        Promise.resolve()
          .then(hook)
          .catch((error: unknown) => {
            log.error({ err: error }, 'shutdown hook failed');
          }),
        deadline,
      );
      if (!finished) {
        log.warn('shutdown hooks did not finish in time');
        clean = false;
        break;
      }
    }
    log.info({ clean }, 'stopped');
    return clean;
  }

  for (const signal of signals) {
    process.once(signal, () => {
      void shutdown(signal).then((clean) => {
        if (options.exitOnSignal ?? true) process.exit(clean ? 0 : 1);
      });
    });
  }

  return { server, listening, shutdown };
}

async function within(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

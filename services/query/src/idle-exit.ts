// When a rebuild Job is done: Dapr cannot say how far behind a consumer group is, so a replay is
// over once no event has been projected for a while. Before the first event the wait is longer
// (the consumer group has to join and find its partitions first).
export type IdleWatch = {
  /** An event was projected. */
  record(): void;
  /** Events projected so far. */
  count(): number;
  stop(): void;
};

export type IdleWatchOptions = {
  /** Quiet time after the last event that means "done". */
  idleMs: number;
  /** Quiet time from the start that means "nothing to replay". */
  firstEventWithinMs: number;
  /** Called once, when either quiet time has passed. */
  onIdle: (projected: number) => void;
  checkEveryMs?: number;
  now?: () => number;
};

export function watchIdle(options: IdleWatchOptions): IdleWatch {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let projected = 0;
  let lastAt = startedAt;
  const timer = setInterval(() => {
    const quiet = now() - lastAt;
    if (quiet >= (projected === 0 ? options.firstEventWithinMs : options.idleMs)) {
      clearInterval(timer);
      options.onIdle(projected);
    }
  }, options.checkEveryMs ?? 500);
  timer.unref();
  return {
    record() {
      projected++;
      lastAt = now();
    },
    count: () => projected,
    stop: () => clearInterval(timer),
  };
}

/**
 * A rebuild process's end: once no event has been projected for `idleMs`, it stops its sidecar (so
 * a Kubernetes Job completes) and then itself.
 */
export function exitWhenIdle(options: {
  idleMs: number;
  dapr: { shutdown(): Promise<unknown> };
  log: { info(fields: object, message: string): void; error(fields: object, message: string): void };
}): IdleWatch {
  return watchIdle({
    idleMs: options.idleMs,
    firstEventWithinMs: Math.max(options.idleMs, 60_000),
    onIdle: (projected) => {
      options.log.info({ projected }, 'rebuild done: no event for a while; stopping the sidecar and exiting');
      options.dapr.shutdown().then(
        () => process.kill(process.pid, 'SIGTERM'),
        (error: unknown) => {
          options.log.error({ err: error }, 'the sidecar did not take the shutdown; exiting anyway');
          process.kill(process.pid, 'SIGTERM');
        },
      );
    },
  });
}

// What restarts a process that died without being asked to, as an orchestrator would: any process of
// the run (service, sidecar, replica, Kafka, Redis, Postgres) that exits on its own is started again
// with the same command, ports and data, with a bounded number of attempts. Restarts of one process
// never overlap: a fault, a rolling restart and the supervisor take turns on it.
import type { ProcessControl, Supervised } from '@reservex/local';

export interface RestartRecord {
  name: string;
  /** When the process was found dead, and how long until it served again (ms since epoch, ms). */
  diedAt: number;
  tookMs: number;
  attempts: number;
  ok: boolean;
  /** The pid of the incarnation that came up. */
  pid: number | undefined;
}

export interface Supervisor {
  /** Registers a process by the name its exits are reported under. */
  add(name: string, control: ProcessControl): void;
  control(name: string): ProcessControl;
  names(): string[];
  /** The exit listener to hand to `run.onUnexpectedExit` / `startApps({ onUnexpectedExit })`. */
  onUnexpectedExit(process: Supervised): void;
  /** Runs `work` on `name` when no restart of it is in progress, and keeps others out meanwhile. */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Waits until no restart is in progress (bounded). */
  idle(timeoutMs: number): Promise<boolean>;
  restarts(): RestartRecord[];
  /** No more restarts: the run is stopping. */
  close(): void;
}

export function createSupervisor(options: {
  log: (line: string) => void;
  maxAttempts?: number;
  retryDelayMs?: number;
}): Supervisor {
  const controls = new Map<string, ProcessControl>();
  const turns = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  const records: RestartRecord[] = [];
  const maxAttempts = options.maxAttempts ?? 30;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  let closed = false;
  /** Names whose restart is being attempted: the exits of failed attempts are that restart's own. */
  const restarting = new Set<string>();

  const exclusive = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const previous = turns.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    turns.set(name, settled);
    inFlight.add(settled);
    settled.finally(() => inFlight.delete(settled));
    return next;
  };

  const restart = (name: string, control: ProcessControl) => {
    if (restarting.has(name)) return;
    restarting.add(name);
    const diedAt = Date.now();
    void exclusive(name, async () => {
      let attempts = 0;
      try {
        while (!closed && attempts < maxAttempts) {
          attempts++;
          // Someone else (a rolling restart) brought it back meanwhile.
          if (control.running()) break;
          try {
            await control.restart();
            break;
          } catch (error) {
            options.log(`supervisor: ${name} did not come back (attempt ${attempts}): ${firstLine(error)}`);
            await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
          }
        }
      } finally {
        restarting.delete(name);
      }
      const ok = control.running();
      records.push({ name, diedAt, tookMs: Date.now() - diedAt, attempts, ok, pid: control.pid() });
      options.log(
        `supervisor: ${name} ${ok ? `back as pid ${control.pid()}` : 'NOT restarted'} after ${Date.now() - diedAt} ms`,
      );
    });
  };

  return {
    add(name, control) {
      controls.set(name, control);
    },
    control(name) {
      const control = controls.get(name);
      if (!control) throw new Error(`no process named ${name} in this run`);
      return control;
    },
    names: () => [...controls.keys()],
    onUnexpectedExit(process) {
      if (closed) return;
      const control = controls.get(process.name);
      if (!control) {
        options.log(`supervisor: ${process.name} exited and is not supervised`);
        return;
      }
      options.log(`supervisor: ${process.name} (pid ${process.pid}) exited unexpectedly; restarting`);
      restart(process.name, control);
    },
    exclusive,
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 500))]);
      }
      return inFlight.size === 0;
    },
    restarts: () => [...records],
    close() {
      closed = true;
    },
  };
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

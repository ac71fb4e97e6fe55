// Free loopback ports. Candidates come from below Linux's ephemeral range (32768+), so a port we hand
// out is not also picked by the kernel as the local port of some outgoing connection in the meantime.
import { createServer } from 'node:net';

export const PORT_RANGE = { min: 20_000, max: 32_000 } as const;

const handedOut = new Set<number>();

/** A candidate port not yet handed out by this process; `random` is injectable for tests. */
export function candidatePort(taken: ReadonlySet<number>, random: () => number = Math.random): number {
  const span = PORT_RANGE.max - PORT_RANGE.min;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = PORT_RANGE.min + Math.floor(random() * span);
    if (!taken.has(port)) return port;
  }
  throw new Error('no free port candidate left in range');
}

export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** One free port on 127.0.0.1, never the same twice within this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = candidatePort(handedOut);
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  throw new Error('no free port found on 127.0.0.1 after 50 attempts');
}

export async function freePorts<const K extends string>(names: readonly K[]): Promise<Record<K, number>> {
  const ports = {} as Record<K, number>;
  for (const name of names) ports[name] = await freePort();
  return ports;
}

/** Resolves once nothing listens on the port any more (after a stop), bounded. */
export async function waitUntilFree(port: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canBind(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

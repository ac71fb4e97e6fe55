import { fork } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';

const BURST = 1500;

/**
 * Connections completed within `windowMs` of a burst of `BURST` opened while the server's process is
 * stalled (its event loop blocked, so nothing is accepted): the rest had their handshake dropped
 * because the accept queue was full, and their clients retry only after a second.
 */
async function connectedDuringStall(backlog?: number, windowMs = 600): Promise<number> {
  const child = fork(new URL('./testing/stalled-server.ts', import.meta.url), {
    env: { ...process.env, ...(backlog === undefined ? {} : { BACKLOG: String(backlog) }) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const sockets: Socket[] = [];
  try {
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    child.send({ stallMs: windowMs + 1000 });
    await once(child, 'message');
    let connected = 0;
    for (let i = 0; i < BURST; i++) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('connect', () => connected++);
      socket.on('error', () => {});
      sockets.push(socket);
    }
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    return connected;
  } finally {
    for (const socket of sockets) socket.destroy();
    child.kill('SIGKILL');
  }
}

describe('serve', () => {
  it('lets a burst of connections wait in the accept queue while the process is busy', async () => {
    expect(await connectedDuringStall()).toBe(BURST);
  });

  it('drops the handshakes beyond a small accept queue (what the default backlog prevents)', async () => {
    expect(await connectedDuringStall(100)).toBeLessThan(BURST / 2);
  });
});

// Redis for Dapr state and locks (and the waiting room's sorted sets), with an append-only file in
// the run directory so a restart keeps what was acknowledged.
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Restartable, restartable } from '../control.ts';
import { waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';

export interface RedisInfo {
  host: string;
  port: number;
  url: string;
}

/** Where the run's Redis on `port` answers (known before it does). */
export function redisInfo(port: number): RedisInfo {
  return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}` };
}

export async function startRedis(
  run: Run,
  server: string,
  port: number,
): Promise<{ info: RedisInfo; process: Restartable }> {
  const dir = join(run.dir, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    // Every acknowledged write is on disk before Redis answers: a Redis killed with SIGKILL comes back
    // with the waiting room, the Idempotency-Key replies and the locks it had acknowledged.
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ];
  const process = restartable(run, {
    spec: {
      name: 'redis',
      command: server,
      args: [...args, '--protected-mode', 'no', '--loglevel', 'warning'],
    },
    ready: (started) => waitUntil('redis', () => ping(port), { timeoutMs: 20_000, process: started }),
  });
  await process.start();
  return { info: redisInfo(port), process };
}

/** True when Redis answers PING with PONG. */
export function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

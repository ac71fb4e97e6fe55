// Chaos tests kill servers and bring them back: a server killed with SIGKILL restarts on the same
// port with its data, and apps keep working through it. This file starts an infrastructure of its
// own, since the shared one belongs to the global setup's process.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApps, type StartedInfra, startApps, startInfra } from '../index.ts';
import { ensureDatabase } from './postgres.ts';
import { ping } from './redis.ts';

const probe = fileURLToPath(new URL('../test-apps/probe.ts', import.meta.url));

describe('infrastructure restarts', () => {
  let infra: StartedInfra;

  beforeAll(async () => {
    infra = await startInfra();
  });
  afterAll(() => infra?.stop());

  it('Postgres killed with SIGKILL comes back on the same port with its data', async () => {
    const url = await ensureDatabase(infra.info.postgres, 'survivor');
    const before = postgres(url, { max: 1 });
    await before`create table kept (id int primary key)`;
    await before`insert into kept values (1)`;
    await before.end();

    expect((await infra.processes.postgres.kill())?.signal).toBe('SIGKILL');
    await infra.processes.postgres.restart();

    const after = postgres(url, { max: 1 });
    try {
      expect(await after`select id from kept`).toEqual([{ id: 1 }]);
    } finally {
      await after.end();
    }
  });

  it('Redis killed with SIGKILL restarts on the same port with every write it acknowledged', async () => {
    const port = infra.info.redis.port;
    const key = `survivor:${randomUUID()}`;
    // Acknowledged, then the server is killed at once: no background save could have run.
    expect(await redisCommand(port, 'SET', key, 'kept')).toBe('+OK\r\n');
    expect(await redisCommand(port, 'ZADD', `${key}:room`, '1', 'first')).toBe(':1\r\n');

    expect((await infra.processes.redis.kill())?.signal).toBe('SIGKILL');
    expect(await ping(port)).toBe(false);
    await infra.processes.redis.restart();
    expect(await ping(port)).toBe(true);

    expect(await redisCommand(port, 'GET', key)).toBe('$4\r\nkept\r\n');
    expect(await redisCommand(port, 'ZSCORE', `${key}:room`, 'first')).toBe('$1\r\n1\r\n');
  });

  describe('Kafka', () => {
    const topic = `probe.${randomUUID()}`;
    let started: StartedApps<'sender' | 'receiver'>;

    beforeAll(async () => {
      started = await startApps({
        infra: infra.info,
        apps: [
          { appId: 'sender', args: [probe] },
          { appId: 'receiver', args: [probe], env: { PROBE_TOPICS: topic } },
        ],
      });
    });
    afterAll(() => started?.stop());

    it('killed and restarted, it carries events again through the same sidecars', async () => {
      await infra.processes.kafka.kill();
      await infra.processes.kafka.restart();
      const run = randomUUID();
      // The sidecars reconnect on their own; publishing fails until they have.
      await expect
        .poll(
          async () =>
            (
              await fetch(`${started.apps.sender.url}/publish/${topic}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ n: 1, run }),
              })
            ).status,
          { timeout: 90_000, interval: 1000 },
        )
        .toBe(204);
      await expect
        .poll(
          async () => {
            const all = (await (await fetch(`${started.apps.receiver.url}/received`)).json()) as {
              data: { run: string };
            }[];
            return all.filter((e) => e.data.run === run);
          },
          { timeout: 60_000, interval: 500 },
        )
        .toHaveLength(1);
    });
  });
});

/** One Redis command over RESP; resolves with the raw reply (a single-line or one bulk-string reply). */
function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`redis ${args[0]}: no reply`));
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n');
      const complete =
        reply.startsWith('$') && !reply.startsWith('$-1') ? lines.length >= 3 : lines.length >= 2;
      if (complete) {
        socket.destroy();
        resolve(reply);
      }
    });
  });
}

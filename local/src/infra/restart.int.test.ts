// Chaos tests kill servers and bring them back: a server killed with SIGKILL restarts on the same
// port with its data, and apps keep working through it. This file starts an infrastructure of its
// own, since the shared one belongs to the global setup's process.
import { randomUUID } from 'node:crypto';
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

  it('Redis restarts on the same port', async () => {
    await infra.processes.redis.kill();
    expect(await ping(infra.info.redis.port)).toBe(false);
    await infra.processes.redis.restart();
    expect(await ping(infra.info.redis.port)).toBe(true);
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

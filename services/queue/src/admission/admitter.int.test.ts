// Two admitters contending for the same Dapr lock (real daprd, lock.redis): at no moment do both
// admit; the log of admissions shows long runs per owner, hand-overs only at lease renewals or a
// stop, and everyone admitted exactly once in arrival order at the configured rate.
import { randomUUID } from 'node:crypto';
import { type StartedApps, startApps } from '@reservex/local';
import { createDapr } from '@reservex/platform/dapr';
import { logger } from '@reservex/platform/telemetry';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWaitingRoom, keysOf } from '../waiting-room/waiting-room.ts';
import { startAdmitter } from './admitter.ts';

const infra = inject('infra');

describe('admission leadership through a Dapr lock', () => {
  let stack: StartedApps<'queue'>;
  let redis: Redis;

  beforeAll(async () => {
    stack = await startApps({
      infra,
      apps: [
        {
          appId: 'queue',
          args: ['services/queue/src/main.ts'],
          database: 'queue',
          redis: true,
          env: { PASS_TOKEN_SECRET: 'admitter-int-test-secret-0123456789abcdef' },
        },
      ],
    });
    redis = new Redis(infra.redis.url);
  });

  afterAll(async () => {
    await redis?.quit();
    await stack?.stop();
  });

  it('one admitter at a time, hand-over on stop, FIFO at the rate', async () => {
    // The sidecar answers only its app: the admitters speak as the app, with its token.
    const dapr = createDapr({
      httpPort: stack.apps.queue.daprHttpPort,
      apiToken: stack.apps.queue.tokens.dapr,
    });
    const prefix = `rx:test:${randomUUID()}`;
    const room = createWaitingRoom(redis, prefix);
    const show = randomUUID();
    const users = Array.from({ length: 300 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    for (const user of users) await room.join(show, user, Infinity);

    const rate = 50;
    const common = {
      room,
      lock: dapr.lock,
      lockStore: infra.dapr.components.lockstore,
      lockResource: `admitter-test-${randomUUID()}`,
      lease: { leaseMs: 2000, renewBeforeMs: 600, safetyMs: 200 },
      tickMs: 50,
      ratePerSecond: rate,
      settings: { maxActive: 10_000, slotLeaseMs: 60_000, passTtlMs: 60_000, logMax: 10_000 },
      logger,
    };
    const started = Date.now();
    const a = startAdmitter(common);
    const b = startAdmitter(common);
    let bothLeading = 0;
    const sampler = setInterval(() => {
      if (a.isLeader() && b.isLeader()) bothLeading++;
    }, 5);
    try {
      // A window, not a condition: both admitters run side by side and never lead at once.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const first = a.isLeader() ? a : b;
      await first.stop();
      await expect
        .poll(async () => (await room.counts(show)).waiting, { timeout: 20_000, interval: 100 })
        .toBe(0);
    } finally {
      clearInterval(sampler);
      await a.stop();
      await b.stop();
    }
    const elapsedSeconds = (Date.now() - started) / 1000;

    expect(bothLeading).toBe(0);
    const log = (await redis.lrange(keysOf(show, prefix).log, 0, -1)).map((line) => {
      const [number, user, owner, at] = line.split('|');
      return { number: Number(number), user, owner, at: Number(at) };
    });
    // Everyone, once, in arrival order.
    expect(log.map((entry) => entry.user)).toEqual(users);
    expect(log.map((entry) => entry.number)).toEqual(users.map((_, i) => i + 1));
    // Both took part (the stop handed over), and ownership changed only at renewals or the stop.
    const owners = new Set(log.map((entry) => entry.owner));
    expect(owners).toEqual(new Set([a.owner, b.owner]));
    const switches = log.filter((entry, i) => i > 0 && entry.owner !== log[i - 1]!.owner).length;
    expect(switches).toBeLessThanOrEqual(Math.ceil(elapsedSeconds / 1.4) + 1);
    // The rate holds over every window of a second (plus the bucket's burst).
    for (const entry of log) {
      const inWindow = log.filter((other) => other.at >= entry.at && other.at < entry.at + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(rate + Math.ceil((2 * rate * 50) / 1000) + 1);
    }
  });
});

// The waiting room's scripts against a real Redis: FIFO order, idempotent joins, the active-user
// bound, the leader's deadline, slot release, and expired passes.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWaitingRoom, keysOf, type WaitingRoom } from './waiting-room.ts';

const infra = inject('infra');
const settings = { maxActive: 1000, slotLeaseMs: 60_000, passTtlMs: 30_000, logMax: 10_000 };
const far = () => Date.now() + 60_000;

describe('waiting room in Redis', () => {
  let redis: Redis;
  let room: WaitingRoom;

  beforeAll(() => {
    redis = new Redis(infra.redis.url);
    room = createWaitingRoom(redis);
  });

  afterAll(async () => {
    await redis.quit();
  });

  it('keeps arrival order, and admits in it', async () => {
    const show = randomUUID();
    const users = Array.from({ length: 50 }, (_, i) => `u${i}`);
    for (const [i, user] of users.entries()) {
      expect(await room.join(show, user, Infinity)).toEqual({
        status: 'waiting',
        position: i + 1,
        number: i + 1,
      });
    }
    expect(await room.progress(show)).toEqual({ servedUpTo: 0, waiting: 50 });
    expect(await room.shows()).toContain(show);
    expect((await room.admit(show, 20, far(), 'owner-a', settings)).admitted).toBe(20);
    // Every waiting user's position is their arrival number minus the progress.
    expect(await room.progress(show)).toEqual({ servedUpTo: 20, waiting: 30 });
    expect(await room.standing(show, 'u20')).toEqual({ status: 'waiting', position: 1, number: 21 });
    expect(await room.standing(show, 'u49')).toEqual({ status: 'waiting', position: 30, number: 50 });
    expect((await room.admit(show, 30, far(), 'owner-a', settings)).admitted).toBe(30);
    expect(await room.progress(show)).toEqual({ servedUpTo: 50, waiting: 0 });
    const numbers = await Promise.all(
      users.map(async (user) => {
        const standing = await room.standing(show, user);
        return standing.status === 'admitted' ? standing.admission.number : -1;
      }),
    );
    expect(numbers).toEqual(users.map((_, i) => i + 1));
    const log = await redis.lrange(keysOf(show).log, 0, -1);
    expect(log.map((line) => line.split('|')[1])).toEqual(users);
  });

  it('a show leaves the set the admitter visits when its sale is over', async () => {
    const ending = randomUUID();
    const open = randomUUID();
    const now = Date.now();
    await room.join(ending, 'u', now + 1000);
    await room.join(open, 'u', Infinity);
    expect(await room.shows(now)).toEqual(expect.arrayContaining([ending, open]));
    expect(await room.shows(now + 1000)).not.toContain(ending);
    expect(await room.shows(now + 1000)).toContain(open);
    // A later join (a sale window moved) brings it back with the new end.
    await room.join(ending, 'u', now + 5000);
    expect(await room.shows(now + 1000)).toContain(ending);
  });

  it('joining again keeps the place, and an admitted user keeps the same pass', async () => {
    const show = randomUUID();
    await room.join(show, 'first', Infinity);
    await room.join(show, 'second', Infinity);
    expect(await room.join(show, 'first', Infinity)).toEqual({ status: 'waiting', position: 1, number: 1 });
    expect(await room.join(show, 'second', Infinity)).toEqual({ status: 'waiting', position: 2, number: 2 });
    await room.admit(show, 1, far(), 'owner-a', settings);
    const admitted = await room.join(show, 'first', Infinity);
    expect(admitted.status).toBe('admitted');
    expect(await room.join(show, 'first', Infinity)).toEqual(admitted);
    expect(await room.join(show, 'second', Infinity)).toEqual({ status: 'waiting', position: 1, number: 2 });
  });

  it('never has more than maxActive admitted, and a released slot goes to the next in line', async () => {
    const show = randomUUID();
    for (let i = 0; i < 5; i++) await room.join(show, `u${i}`, Infinity);
    const bounded = { ...settings, maxActive: 2 };
    expect((await room.admit(show, 5, far(), 'owner-a', bounded)).admitted).toBe(2);
    expect((await room.admit(show, 5, far(), 'owner-a', bounded)).admitted).toBe(0);
    expect(await room.counts(show)).toEqual({ waiting: 3, active: 2 });

    expect(await room.release(show, 'u0', Date.now())).toBe(true);
    expect(await room.release(show, 'u0', Date.now())).toBe(false);
    expect(await room.standing(show, 'u0')).toEqual({ status: 'absent' });
    expect((await room.admit(show, 5, far(), 'owner-a', bounded)).admitted).toBe(1);
    expect((await room.standing(show, 'u2')).status).toBe('admitted');
  });

  it('does not let an old reservation end free a newer admission of the same user', async () => {
    const show = randomUUID();
    await room.join(show, 'u', Infinity);
    await room.admit(show, 1, far(), 'owner-a', settings);
    expect(await room.release(show, 'u', Date.now() - 60_000)).toBe(false);
    expect((await room.standing(show, 'u')).status).toBe('admitted');
  });

  it('refuses to admit past the leader deadline', async () => {
    const show = randomUUID();
    await room.join(show, 'u', Infinity);
    expect(await room.admit(show, 1, Date.now() - 1, 'owner-a', settings)).toEqual({
      admitted: -1,
      expired: 0,
    });
    expect(await room.standing(show, 'u')).toEqual({ status: 'waiting', position: 1, number: 1 });
  });

  it('frees the slot of a lease that ran out, and requeues a user whose pass expired at the end', async () => {
    const show = randomUUID();
    await room.join(show, 'a', Infinity);
    await room.join(show, 'b', Infinity);
    await room.admit(show, 1, far(), 'owner-a', { ...settings, passTtlMs: 50, slotLeaseMs: 50 });
    await expect
      .poll(() => room.standing(show, 'a'), { timeout: 5000, interval: 20 })
      .toEqual({ status: 'absent' });
    // Back at the end with a new number; the position is still the number minus the progress.
    expect(await room.join(show, 'a', Infinity)).toEqual({ status: 'waiting', position: 2, number: 3 });
    expect(await room.progress(show)).toEqual({ servedUpTo: 1, waiting: 2 });
    expect(await room.admit(show, 0, far(), 'owner-a', settings)).toEqual({ admitted: 0, expired: 0 });
  });

  it('after a failed booking the visit goes on with a fresh pass; a later visit is left alone', async () => {
    const show = randomUUID();
    await room.join(show, 'u', Infinity);
    await room.admit(show, 1, far(), 'owner-a', settings);
    const before = await room.standing(show, 'u');
    if (before.status !== 'admitted') throw new Error('not admitted');
    const pass = { ttlMs: 30_000, minMs: 1000 };

    // A cancellation older than this admission belongs to an earlier visit.
    expect(await room.renew(show, 'u', before.admission.admittedAtMs - 1, pass)).toBe('unchanged');
    expect(await room.renew(show, 'u', Date.now() + 10, pass)).toBe('renewed');
    const after = await room.standing(show, 'u');
    if (after.status !== 'admitted') throw new Error('not admitted after the renewal');
    expect(after.admission.jti).not.toBe(before.admission.jti);
    expect(after.admission.number).toBe(before.admission.number);
    expect(await room.counts(show)).toEqual({ waiting: 0, active: 1 });
    // The same cancellation again (a late copy) renews nothing.
    expect(await room.renew(show, 'u', Date.now() - 5000, pass)).toBe('unchanged');

    // Too little of the visit left: the slot is freed instead.
    const short = { ttlMs: 30_000, minMs: settings.slotLeaseMs + 1 };
    expect(await room.renew(show, 'u', Date.now() + 10, short)).toBe('released');
    expect(await room.standing(show, 'u')).toEqual({ status: 'absent' });
    expect(await room.counts(show)).toEqual({ waiting: 0, active: 0 });
  });
});

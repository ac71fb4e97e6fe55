// One show's waiting room in Redis (ioredis: Dapr state has no sorted sets).
//   waiting    sorted set, user → arrival number: FIFO order
//   active     sorted set, user → end of the slot's lease (ms): the admitted users, at most MAX_ACTIVE
//   admitted   hash, user → admission record (number|jti|admittedAt|passExpiresAt)
//   admissions counter of admissions (the admission number)
//   log        list of admissions, `number|user|admitter|at`, capped: who admitted whom and when
//   served     the highest arrival number admitted (the show's progress; a waiting user's position
//              is their arrival number minus it)
// The keys of a show share a hash tag, so each script touches one cluster slot. One key across shows:
//   show-ends  sorted set, show → end of its last sale window (ms, +inf without an end): the shows
//              the admitter visits; a show leaves it when its sale is over

import { randomUUID } from 'node:crypto';
import type { ClientContext, Redis, Result } from 'ioredis';
import { type Standing, standingOf } from '../domain/admission.ts';
import { admitScript, joinScript, releaseScript, renewScript } from './scripts.ts';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    rxQueueJoin(
      waiting: string,
      seq: string,
      admitted: string,
      active: string,
      user: string,
    ): Result<[string, string | number, string?], Context>;
    rxQueueAdmit(...args: (string | number)[]): Result<[number, number], Context>;
    rxQueueRelease(
      active: string,
      admitted: string,
      user: string,
      endedAtMs: number,
    ): Result<number, Context>;
    rxQueueRenew(
      active: string,
      admitted: string,
      user: string,
      endedAtMs: number,
      jti: string,
      passTtlMs: number,
      minPassMs: number,
    ): Result<number, Context>;
  }
}

export const DEFAULT_PREFIX = 'rx:queue';

export function keysOf(showId: string, prefix = DEFAULT_PREFIX) {
  const base = `${prefix}:{${showId}}`;
  return {
    waiting: `${base}:waiting`,
    seq: `${base}:seq`,
    active: `${base}:active`,
    admitted: `${base}:admitted`,
    admissions: `${base}:admissions`,
    log: `${base}:log`,
    served: `${base}:served`,
  };
}

export interface AdmissionSettings {
  maxActive: number;
  /** How long an admitted user holds a slot if no reservation event frees it first. */
  slotLeaseMs: number;
  passTtlMs: number;
  logMax: number;
}

/** How far a show's admission has come: what the gateway fans out to its waiting users. */
export interface Progress {
  /** Every arrival number up to this one has been admitted. */
  servedUpTo: number;
  /** Users still waiting. */
  waiting: number;
}

export interface AdmitOutcome {
  /** -1 when refused because the leader's deadline had passed. */
  admitted: number;
  expired: number;
}

/** `prefix` namespaces every key, so separate deployments (or tests) can share one Redis. */
export function createWaitingRoom(redis: Redis, prefix = DEFAULT_PREFIX) {
  const showEndsKey = `${prefix}:show-ends`;
  if (!redis.rxQueueJoin) {
    redis.defineCommand('rxQueueJoin', { numberOfKeys: 4, lua: joinScript });
    redis.defineCommand('rxQueueAdmit', { numberOfKeys: 6, lua: admitScript });
    redis.defineCommand('rxQueueRelease', { numberOfKeys: 2, lua: releaseScript });
    redis.defineCommand('rxQueueRenew', { numberOfKeys: 2, lua: renewScript });
  }

  return {
    /**
     * Joins (idempotently) and returns the standing. `saleEndsAtMs` is when the show's sale is over
     * (Infinity while it has no end); the latest join's answer wins, so a changed window applies.
     */
    async join(showId: string, userId: string, saleEndsAtMs: number): Promise<Standing> {
      // The show is registered first: whoever waits is always in a show the admitter visits.
      await redis.zadd(showEndsKey, scoreOf(saleEndsAtMs), showId);
      const k = keysOf(showId, prefix);
      const [kind, value, number] = await redis.rxQueueJoin(k.waiting, k.seq, k.admitted, k.active, userId);
      return kind === 'admitted'
        ? standingOf(null, String(value), 0)
        : standingOf({ rank: Number(value), number: Number(number) }, null, 0);
    },

    async standing(showId: string, userId: string, nowMs = Date.now()): Promise<Standing> {
      const k = keysOf(showId, prefix);
      const results = await redis
        .multi()
        .zrank(k.waiting, userId)
        .zscore(k.waiting, userId)
        .hget(k.admitted, userId)
        .exec();
      if (!results) throw new Error('the standing transaction was aborted');
      for (const [error] of results) if (error) throw error;
      const rank = results[0]![1] as number | null;
      const number = results[1]![1] as string | null;
      const record = results[2]![1] as string | null;
      return standingOf(rank === null ? null : { rank, number: Number(number) }, record, nowMs);
    },

    /** The show's progress; before its first admission, whoever waits first is next. */
    async progress(showId: string): Promise<Progress> {
      const k = keysOf(showId, prefix);
      const results = await redis
        .multi()
        .get(k.served)
        .zrange(k.waiting, 0, 0, 'WITHSCORES')
        .zcard(k.waiting)
        .exec();
      if (!results) throw new Error('the progress transaction was aborted');
      for (const [error] of results) if (error) throw error;
      const served = results[0]![1] as string | null;
      const head = results[1]![1] as string[];
      const waiting = results[2]![1] as number;
      const servedUpTo = served !== null ? Number(served) : head.length === 2 ? Number(head[1]) - 1 : 0;
      return { servedUpTo, waiting };
    },

    /** The shows whose sale is not over; the others leave the set. */
    async shows(nowMs = Date.now()): Promise<string[]> {
      const results = await redis
        .multi()
        .zremrangebyscore(showEndsKey, '-inf', nowMs)
        .zrangebyscore(showEndsKey, `(${nowMs}`, '+inf')
        .exec();
      if (!results) throw new Error('the shows transaction was aborted');
      for (const [error] of results) if (error) throw error;
      return results[1]![1] as string[];
    },

    /** Admits up to `count` users in arrival order, refusing all work after `deadlineMs`. */
    async admit(
      showId: string,
      count: number,
      deadlineMs: number,
      owner: string,
      settings: AdmissionSettings,
    ): Promise<AdmitOutcome> {
      const k = keysOf(showId, prefix);
      const jtis = Array.from({ length: Math.max(0, count) }, () => randomUUID());
      const [admitted, expired] = await redis.rxQueueAdmit(
        k.waiting,
        k.active,
        k.admitted,
        k.admissions,
        k.log,
        k.served,
        deadlineMs,
        settings.maxActive,
        count,
        settings.slotLeaseMs,
        settings.passTtlMs,
        owner,
        settings.logMax,
        ...jtis,
      );
      return { admitted, expired };
    },

    /** Frees the user's slot after their reservation ended (confirmed or cancelled). */
    async release(showId: string, userId: string, endedAtMs: number): Promise<boolean> {
      const k = keysOf(showId, prefix);
      return (await redis.rxQueueRelease(k.active, k.admitted, userId, endedAtMs)) === 1;
    },

    /**
     * After the user's booking failed: a fresh pass for the rest of the visit (`renewed`), or the
     * slot freed when too little of the visit is left (`released`), or nothing to do (`unchanged`).
     */
    async renew(
      showId: string,
      userId: string,
      endedAtMs: number,
      pass: { ttlMs: number; minMs: number },
    ): Promise<'renewed' | 'released' | 'unchanged'> {
      const k = keysOf(showId, prefix);
      const outcome = await redis.rxQueueRenew(
        k.active,
        k.admitted,
        userId,
        endedAtMs,
        randomUUID(),
        pass.ttlMs,
        pass.minMs,
      );
      return outcome === 1 ? 'renewed' : outcome === -1 ? 'released' : 'unchanged';
    },

    async counts(showId: string): Promise<{ waiting: number; active: number }> {
      const k = keysOf(showId, prefix);
      const [waiting, active] = await Promise.all([redis.zcard(k.waiting), redis.zcard(k.active)]);
      return { waiting, active };
    },
  };
}

export type WaitingRoom = ReturnType<typeof createWaitingRoom>;

function scoreOf(ms: number): string {
  return Number.isFinite(ms) ? String(Math.trunc(ms)) : '+inf';
}

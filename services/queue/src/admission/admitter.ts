// The admission loop. Every replica runs it; only the one holding the Dapr lock admits. Each tick
// the leader lets into each show as many users as that show's bucket allows (ADMISSION_RATE per
// second) and free slots permit (MAX_ACTIVE), through the atomic admit script, which also refuses
// to act past the leader's lease. Followers just keep trying the lock.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  type AdmissionBudget,
  available,
  burstFor,
  refill,
  spend,
  startBudget,
} from '../domain/admission-rate.ts';
import {
  acquired,
  admitDeadline,
  follower,
  type Leadership,
  type LeasePolicy,
  nextAction,
} from '../domain/leadership.ts';
import type { AdmissionSettings, WaitingRoom } from '../waiting-room/waiting-room.ts';

export const ADMISSION_LOCK = 'queue-admission';

export interface LockClient {
  tryLock(store: string, resource: string, owner: string, expirySeconds: number): Promise<boolean>;
  unlock(store: string, resource: string, owner: string): Promise<unknown>;
}

export interface AdmitterOptions {
  room: WaitingRoom;
  lock: LockClient;
  lockStore: string;
  /** The lock's name; every replica of one deployment must use the same. */
  lockResource?: string;
  lease: LeasePolicy;
  tickMs: number;
  ratePerSecond: number;
  settings: AdmissionSettings;
  logger: Logger;
  /** Largest number of users admitted to one show in one tick. */
  maxBatch?: number;
}

export function startAdmitter(options: AdmitterOptions) {
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const resource = options.lockResource ?? ADMISSION_LOCK;
  const log = options.logger.child({ component: 'admitter', owner });
  const leaseSeconds = Math.ceil(options.lease.leaseMs / 1000);
  const burst = burstFor(options.ratePerSecond, options.tickMs);
  const maxBatch = options.maxBatch ?? 500;
  let state: Leadership = follower();
  let budgets = new Map<string, AdmissionBudget>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function takeLock(previous: Leadership = state): Promise<void> {
    const askedAt = Date.now();
    const won = await options.lock.tryLock(options.lockStore, resource, owner, leaseSeconds);
    const wasLeader = previous.role === 'leader';
    state = won ? acquired(askedAt, options.lease, previous) : follower();
    if (won && !wasLeader) {
      budgets = new Map();
      log.info('admission leadership acquired');
    }
    if (!won && wasLeader) log.info('admission leadership lost');
  }

  async function renew(): Promise<void> {
    // Dapr locks cannot be extended: release and take it again at once. Another replica may win
    // in between, which is a clean hand-over: this one stopped admitting before releasing, and is a
    // follower from the release until it holds the lock again.
    const held = state;
    state = follower();
    await options.lock.unlock(options.lockStore, resource, owner).catch((error: unknown) => {
      state = held; // still ours as far as this one knows: the tick steps down with a warning
      throw error;
    });
    await takeLock(held);
  }

  async function admit(): Promise<void> {
    const deadline = admitDeadline(state, options.lease);
    for (const showId of await options.room.shows()) {
      if (Date.now() >= deadline) return;
      const now = Date.now();
      let budget = refill(budgets.get(showId) ?? startBudget(now), now, options.ratePerSecond, burst);
      const count = Math.min(available(budget), maxBatch);
      const outcome = await options.room.admit(showId, count, deadline, owner, options.settings);
      if (outcome.admitted < 0) {
        log.warn({ show_id: showId }, 'lease deadline passed; not admitting');
        return;
      }
      budget = spend(budget, outcome.admitted);
      budgets.set(showId, budget);
      if (outcome.admitted > 0 || outcome.expired > 0) {
        log.debug(
          { show_id: showId, admitted: outcome.admitted, expired: outcome.expired },
          'admission tick',
        );
      }
    }
  }

  async function tick(): Promise<void> {
    try {
      switch (nextAction(state, Date.now(), options.lease)) {
        case 'try-acquire':
          await takeLock();
          if (state.role === 'leader') await admit();
          break;
        case 'renew':
          await renew();
          if (state.role === 'leader') await admit();
          break;
        case 'admit':
          await admit();
          break;
      }
    } catch (error) {
      // Unsure whether the lock is still ours: stop admitting until it is taken again.
      if (state.role === 'leader') log.warn({ err: error }, 'admission tick failed; stepping down');
      else log.debug({ err: error }, 'admission lock attempt failed');
      state = follower();
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, options.tickMs);
  }

  schedule();

  return {
    owner,
    isLeader: () => state.role === 'leader',
    /** Stops the loop and releases the lock so another replica takes over at once. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (state.role === 'leader') {
        state = follower();
        await options.lock.unlock(options.lockStore, resource, owner).catch((error: unknown) => {
          log.warn({ err: error }, 'admission lock release failed; it expires on its own');
        });
      }
    },
  };
}

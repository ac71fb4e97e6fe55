import { describe, expect, it } from 'vitest';
import type { AdmissionProgress } from '../domain/waiting-position.ts';
import { createPolledPositions } from './polled-positions.ts';

const SHOW = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';

function setup(maxEntries = 100) {
  let clock = 0;
  const progress = new Map<string, AdmissionProgress>();
  const positions = createPolledPositions({
    progressOf: (showId) => progress.get(showId),
    recheckMs: 30_000,
    maxEntries,
    now: () => clock,
  });
  return {
    positions,
    progress: (servedUpTo: number, showId = SHOW) =>
      progress.set(showId, { servedUpTo, waiting: 100, ratePerSecond: 10 }),
    closeFeed: () => progress.clear(),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const waiting = (number: number, position: number) => ({ status: 'waiting', number, position });

describe('position polls answered at the edge', () => {
  it("answer from the user's number, learnt from the queue, and the show's progress", () => {
    const { positions, progress } = setup();
    progress(10);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    positions.learn(SHOW, 'ann', 200, waiting(25, 15));
    expect(positions.answer(SHOW, 'ann')).toEqual({ status: 'waiting', position: 15, number: 25 });
    progress(20);
    expect(positions.answer(SHOW, 'ann')).toEqual({ status: 'waiting', position: 5, number: 25 });
    // Another user, or the same user in another show, is not answered from ann's number.
    expect(positions.answer(SHOW, 'bob')).toBeUndefined();
    expect(positions.answer('another-show', 'ann')).toBeUndefined();
    expect(positions.stats()).toEqual({ answered: 2, forwarded: 3, remembered: 1 });
  });

  it('leave the pass to the queue: once the progress reaches the number, the poll is forwarded', () => {
    const { positions, progress } = setup();
    progress(10);
    positions.learn(SHOW, 'ann', 200, waiting(12, 2));
    progress(12);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    positions.learn(SHOW, 'ann', 200, { status: 'admitted', passToken: 'p', admissionNumber: 3 });
    progress(11_000);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    expect(positions.stats().remembered).toBe(0);
  });

  it('forward while the show has no open feed, after the recheck interval, and after a refusal', () => {
    const { positions, progress, closeFeed, advance } = setup();
    positions.learn(SHOW, 'ann', 200, waiting(25, 15));
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    progress(10);
    expect(positions.answer(SHOW, 'ann')).toBeDefined();
    closeFeed();
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    progress(10);
    advance(30_000);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    positions.learn(SHOW, 'ann', 200, waiting(25, 15));
    expect(positions.answer(SHOW, 'ann')).toBeDefined();
    positions.learn(SHOW, 'ann', 404, undefined);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
  });

  it('answer a waiting stream from a number of any age, a poll only within the recheck interval', () => {
    const { positions, progress, advance } = setup();
    progress(10);
    positions.learn(SHOW, 'ann', 200, waiting(25, 15));
    advance(10 * 60_000);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    expect(positions.answer(SHOW, 'ann', Number.POSITIVE_INFINITY)).toEqual({
      status: 'waiting',
      position: 15,
      number: 25,
    });
  });

  it('remember nothing from an answer that is not a waiting standing', () => {
    const { positions, progress } = setup();
    progress(0);
    for (const body of [undefined, {}, { status: 'waiting' }, { status: 'waiting', number: 1.5 }, 'text']) {
      positions.learn(SHOW, 'ann', 200, body);
      expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    }
    positions.learn(SHOW, 'ann', 503, waiting(5, 5));
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
  });

  it('hold a bounded number of users, the oldest learnt going first', () => {
    const { positions, progress } = setup(2);
    progress(0);
    positions.learn(SHOW, 'ann', 200, waiting(1, 1));
    positions.learn(SHOW, 'bob', 200, waiting(2, 2));
    positions.learn(SHOW, 'cid', 200, waiting(3, 3));
    expect(positions.stats().remembered).toBe(2);
    expect(positions.answer(SHOW, 'ann')).toBeUndefined();
    expect(positions.answer(SHOW, 'cid')).toEqual({ status: 'waiting', position: 3, number: 3 });
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchIdle } from './idle-exit.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('watchIdle', () => {
  it('fires once the last event is idleMs old, with the number projected', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    const watch = watchIdle({ idleMs: 3000, firstEventWithinMs: 60_000, onIdle: (n) => fired.push(n) });
    vi.advanceTimersByTime(10_000);
    watch.record();
    watch.record();
    vi.advanceTimersByTime(2500);
    watch.record();
    vi.advanceTimersByTime(2500);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([3]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([3]);
  });

  it('waits the longer firstEventWithinMs while nothing has arrived', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    watchIdle({ idleMs: 1000, firstEventWithinMs: 30_000, onIdle: (n) => fired.push(n) });
    vi.advanceTimersByTime(29_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1500);
    expect(fired).toEqual([0]);
  });

  it('stop() means it never fires', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    watchIdle({ idleMs: 1000, firstEventWithinMs: 1000, onIdle: (n) => fired.push(n) }).stop();
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([]);
  });
});

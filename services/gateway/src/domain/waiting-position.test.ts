import { describe, expect, it } from 'vitest';
import { positionEventId, progressFrom, waitingViewOf } from './waiting-position.ts';

describe('a waiting user’s position at the edge', () => {
  const progress = { servedUpTo: 40, waiting: 100, ratePerSecond: 4 };

  it('is the arrival number minus the progress, with the wait at the measured rate', () => {
    expect(waitingViewOf(50, progress)).toEqual({
      status: 'waiting',
      position: 10,
      number: 50,
      estimatedWaitSeconds: 3,
    });
  });

  it('is served once the progress reaches the number', () => {
    expect(waitingViewOf(40, progress)).toBe('served');
    expect(waitingViewOf(12, progress)).toBe('served');
  });

  it('gives no estimate while nobody is admitted', () => {
    expect(waitingViewOf(41, { ...progress, ratePerSecond: 0 })).toEqual({
      status: 'waiting',
      position: 1,
      number: 41,
    });
  });

  it('reads only well-formed progress', () => {
    expect(progressFrom(JSON.stringify(progress))).toEqual(progress);
    expect(progressFrom('{"servedUpTo":-1,"waiting":0,"ratePerSecond":0}')).toBeUndefined();
    expect(progressFrom('not json')).toBeUndefined();
  });

  it('names an event by number and progress', () => {
    expect(positionEventId(50, 40)).toBe('50.40');
  });
});

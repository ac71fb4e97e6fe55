import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgressFeeds } from './progress-feeds.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** An upstream the test writes progress events into, counting how often it was opened. */
function upstream() {
  let opened = 0;
  let write: ((text: string) => void) | undefined;
  let signal: AbortSignal | undefined;
  return {
    opened: () => opened,
    closed: () => signal?.aborted === true,
    progress: (servedUpTo: number) =>
      write?.(`event: progress\ndata: ${JSON.stringify({ servedUpTo, waiting: 5, ratePerSecond: 1 })}\n\n`),
    open: async (_showId: string, abort: AbortSignal) => {
      opened++;
      signal = abort;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          write = (text) => controller.enqueue(new TextEncoder().encode(text));
          abort.addEventListener('abort', () => controller.error(abort.reason));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    },
  };
}

describe("a show's progress followed for polls", () => {
  it('opens the upstream on the first poll, answers only while it is open, and closes after the linger', async () => {
    vi.useFakeTimers();
    const queue = upstream();
    const feeds = createProgressFeeds({ open: queue.open, lingerMs: 1000, retryMs: 100, idleMs: 60_000 });
    expect(feeds.follow('show')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.opened()).toBe(1);
    // Open, but nothing heard yet: the poll goes to the queue.
    expect(feeds.follow('show')).toBeUndefined();
    queue.progress(7);
    await vi.advanceTimersByTimeAsync(1);
    expect(feeds.follow('show')).toMatchObject({ servedUpTo: 7 });
    // Polls keep it open; one upstream however many polls.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(600);
      expect(feeds.follow('show')).toMatchObject({ servedUpTo: 7 });
    }
    expect(queue.opened()).toBe(1);
    expect(queue.closed()).toBe(false);
    // No poll for longer than the linger: the upstream closes and the show is forgotten.
    await vi.advanceTimersByTimeAsync(1001);
    expect(queue.closed()).toBe(true);
    expect(feeds.stats().shows).toBe(0);
    feeds.close();
  });

  it('stays open while a stream subscribes, and lingers after the last poll once it leaves', async () => {
    vi.useFakeTimers();
    const queue = upstream();
    const feeds = createProgressFeeds({ open: queue.open, lingerMs: 1000, retryMs: 100, idleMs: 60_000 });
    const unsubscribe = feeds.subscribe('show', { progress: () => {}, ended: () => {} });
    await vi.advanceTimersByTimeAsync(5000);
    feeds.follow('show');
    await vi.advanceTimersByTimeAsync(500);
    unsubscribe();
    await vi.advanceTimersByTimeAsync(600);
    expect(queue.closed()).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(queue.closed()).toBe(true);
    expect(queue.opened()).toBe(1);
    feeds.close();
  });
});

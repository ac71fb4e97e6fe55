import { ProblemError } from '@reservex/platform/http';
import { describe, expect, it, vi } from 'vitest';
import type { AdmissionProgress } from '../domain/waiting-position.ts';
import type { ProgressFeeds, ProgressSubscriber } from './progress-feeds.ts';
import { openWaitingStream } from './waiting-stream.ts';

/** Feeds that publish what the test says, for one show. */
function fakeFeeds() {
  const subscribers = new Set<ProgressSubscriber>();
  const feeds = {
    subscribe: (_showId: string, subscriber: ProgressSubscriber) => {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    latest: () => undefined,
    stats: () => ({ shows: 1, upstreamsOpen: 1, subscribers: subscribers.size, upstreamsOpened: 1 }),
    close: () => undefined,
  } as unknown as ProgressFeeds;
  const publish = (servedUpTo: number) => {
    const progress: AdmissionProgress = { servedUpTo, waiting: 10, ratePerSecond: 2 };
    for (const s of subscribers) s.progress(progress);
  };
  return { feeds, publish, subscribers };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function nextEvents(reader: ReadableStreamDefaultReader<string>, count: number): Promise<string[]> {
  const events: string[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const blocks = buffer.split('\n\n');
    buffer = blocks.pop()!;
    events.push(...blocks.filter((block) => !block.startsWith(':')));
  }
  return events;
}

const options = { showId: 's', lastEventId: undefined, heartbeatMs: 20, stallMs: 60 };

/** A stream opened with these standings, read as text. */
async function readerOf(feeds: ProgressFeeds, standing: () => Promise<Response>) {
  const response = await openWaitingStream({
    ...options,
    feeds,
    standing,
    signal: new AbortController().signal,
  });
  return response.body!.pipeThrough(new TextDecoderStream()).getReader();
}

describe('a waiting stream at the edge', () => {
  it('refuses before streaming when the queue refuses the standing', async () => {
    const { feeds } = fakeFeeds();
    const response = await openWaitingStream({
      ...options,
      feeds,
      standing: async () => json({ type: 'not-in-queue' }, 404),
      signal: new AbortController().signal,
    });
    expect(response.status).toBe(404);
  });

  it('tells positions from the shared progress, then the pass the queue gives this user', async () => {
    const { feeds, publish } = fakeFeeds();
    const standing = vi
      .fn<() => Promise<Response>>()
      .mockResolvedValueOnce(json({ status: 'waiting', position: 5, number: 5 }))
      .mockResolvedValueOnce(json({ status: 'admitted', passToken: 'pass', admissionNumber: 5 }));
    const reader = await readerOf(feeds, standing);
    expect(await nextEvents(reader, 1)).toEqual([
      'event: position\ndata: {"status":"waiting","position":5,"number":5}\nid: 5.0\nretry: 1000',
    ]);
    publish(2);
    expect(await nextEvents(reader, 1)).toEqual([
      'event: position\ndata: {"status":"waiting","position":3,"number":5,"estimatedWaitSeconds":2}\nid: 5.2',
    ]);
    publish(5);
    expect(await nextEvents(reader, 1)).toEqual([
      'event: admitted\ndata: {"status":"admitted","passToken":"pass","admissionNumber":5}',
    ]);
    expect((await reader.read()).done).toBe(true);
    expect(standing).toHaveBeenCalledTimes(2);
  });

  it('ends without a pass when the token no longer holds at admission', async () => {
    const { feeds, publish } = fakeFeeds();
    const standing = vi
      .fn<() => Promise<Response>>()
      .mockResolvedValueOnce(json({ status: 'waiting', position: 2, number: 2 }))
      .mockRejectedValueOnce(new ProblemError(401, 'unauthorized', 'the token was signed out'));
    const reader = await readerOf(feeds, standing);
    expect(await nextEvents(reader, 1)).toHaveLength(1);
    publish(2);
    expect(await nextEvents(reader, 1)).toEqual([]);
    expect(standing).toHaveBeenCalledTimes(2);
  });

  it('does not repeat what a resuming client saw (Last-Event-ID)', async () => {
    const { feeds, publish } = fakeFeeds();
    const response = await openWaitingStream({
      ...options,
      lastEventId: '5.0',
      feeds,
      standing: async () => json({ status: 'waiting', position: 5, number: 5 }),
      signal: new AbortController().signal,
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    publish(1);
    expect(await nextEvents(reader, 1)).toEqual([
      'event: position\ndata: {"status":"waiting","position":4,"number":5,"estimatedWaitSeconds":2}\nid: 5.1\nretry: 1000',
    ]);
    await reader.cancel();
  });

  it('keeps only the latest position for a client that does not read, and drops it when it stalls', async () => {
    const { feeds, publish, subscribers } = fakeFeeds();
    const onDropped = vi.fn();
    const response = await openWaitingStream({
      ...options,
      feeds,
      standing: async () => json({ status: 'waiting', position: 1000, number: 1000 }),
      signal: new AbortController().signal,
      onDropped,
    });
    expect(response.status).toBe(200);
    for (let served = 1; served < 500; served++) publish(served);
    await vi.waitFor(() => expect(onDropped).toHaveBeenCalledTimes(1), { timeout: 2000, interval: 20 });
    expect(subscribers.size).toBe(0);
  });
});

import { EventEmitter } from 'node:events';
import { ProblemError } from '@reservex/platform/http';
import { describe, expect, it, vi } from 'vitest';
import type { AdmissionProgress } from '../domain/waiting-position.ts';
import type { ProgressFeeds, ProgressSubscriber } from './progress-feeds.ts';
import { type NodeOutgoing, openWaitingStream } from './waiting-stream.ts';

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

/** Node's response as the stream uses it: what was written, and a client that stops reading on demand. */
class FakeOutgoing extends EventEmitter implements NodeOutgoing {
  head: { status: number; headers: Record<string, string> } | undefined;
  written: string[] = [];
  ended = false;
  writableNeedDrain = false;
  destroyed = false;
  writeHead(status: number, headers: Record<string, string>) {
    this.head = { status, headers };
    return this;
  }
  write(chunk: string) {
    this.written.push(chunk);
    return !this.writableNeedDrain;
  }
  end(chunk?: string) {
    if (chunk) this.written.push(chunk);
    this.ended = true;
    return this;
  }
  destroy() {
    this.destroyed = true;
    return this;
  }
  events() {
    return this.written.filter((text) => !text.startsWith(':')).map((text) => text.trimEnd());
  }
}

describe('a waiting stream written to Node directly', () => {
  const open = (outgoing: FakeOutgoing, standing: () => Promise<Response>, feeds: ProgressFeeds) =>
    openWaitingStream({
      ...options,
      feeds,
      standing,
      signal: new AbortController().signal,
      outgoing: { response: outgoing, headers: new Headers({ 'x-request-id': 'r-1' }) },
    });

  it('writes the head with the prepared headers, then positions and the pass, and says the response was sent', async () => {
    const { feeds, publish } = fakeFeeds();
    const outgoing = new FakeOutgoing();
    const standing = vi
      .fn<() => Promise<Response>>()
      .mockResolvedValueOnce(json({ status: 'waiting', position: 3, number: 3 }))
      .mockResolvedValueOnce(json({ status: 'admitted', passToken: 'pass', admissionNumber: 3 }));
    const response = await open(outgoing, standing, feeds);
    expect(response.headers.get('x-hono-already-sent')).toBe('true');
    expect(outgoing.head).toEqual({
      status: 200,
      headers: expect.objectContaining({
        'x-request-id': 'r-1',
        'content-type': 'text/event-stream; charset=utf-8',
      }),
    });
    publish(1);
    publish(3);
    await vi.waitFor(() => expect(outgoing.ended).toBe(true), { timeout: 2000, interval: 10 });
    expect(outgoing.events()).toEqual([
      'event: position\ndata: {"status":"waiting","position":3,"number":3}\nid: 3.0\nretry: 1000',
      'event: position\ndata: {"status":"waiting","position":2,"number":3,"estimatedWaitSeconds":1}\nid: 3.1',
      'event: admitted\ndata: {"status":"admitted","passToken":"pass","admissionNumber":3}',
    ]);
  });

  it('holds back positions while the client does not read, sends the latest once it drains, and ends when it goes', async () => {
    const { feeds, publish, subscribers } = fakeFeeds();
    const outgoing = new FakeOutgoing();
    await open(outgoing, async () => json({ status: 'waiting', position: 100, number: 100 }), feeds);
    outgoing.writableNeedDrain = true;
    publish(1);
    publish(2);
    publish(3);
    expect(outgoing.events()).toHaveLength(1);
    outgoing.writableNeedDrain = false;
    outgoing.emit('drain');
    expect(outgoing.events().at(-1)).toContain('id: 100.3');
    expect(outgoing.events()).toHaveLength(2);
    outgoing.destroyed = true;
    outgoing.emit('close');
    expect(subscribers.size).toBe(0);
    expect(outgoing.listenerCount('drain') + outgoing.listenerCount('close')).toBe(0);
  });

  it('drops a client that reads nothing for the stall time, the others unaffected', async () => {
    const { feeds, publish, subscribers } = fakeFeeds();
    const stalled = new FakeOutgoing();
    const reading = new FakeOutgoing();
    const onDropped = vi.fn();
    const standing = async () => json({ status: 'waiting', position: 100, number: 100 });
    await openWaitingStream({
      ...options,
      feeds,
      standing,
      signal: new AbortController().signal,
      onDropped,
      outgoing: { response: stalled, headers: new Headers() },
    });
    await open(reading, standing, feeds);
    stalled.writableNeedDrain = true;
    publish(1);
    await vi.waitFor(() => expect(onDropped).toHaveBeenCalledTimes(1), { timeout: 2000, interval: 20 });
    // Let go of at once (its connection closed), not ended behind what it never read.
    expect([stalled.destroyed, stalled.ended]).toEqual([true, false]);
    expect(subscribers.size).toBe(1);
    publish(2);
    expect(reading.events().at(-1)).toContain('id: 100.2');
  });
});

// One upstream per show and gateway: the queue's admission progress, read as server-sent events
// through the sidecar, shared by every waiting user of the show this gateway holds. The upstream
// opens with the show's first subscriber and closes a while after its last one left. When the
// upstream ends (the queue ends its streams after a while, an invocation timeout cuts them, a queue
// replica restarts) it is opened again at once; subscribers keep the last progress meanwhile and
// notice nothing but a pause.
import { createParser } from 'eventsource-parser';
import { type AdmissionProgress, progressFrom } from '../domain/waiting-position.ts';

export type ProgressListener = (progress: AdmissionProgress) => void;

export interface ProgressFeedOptions {
  /** Opens the show's progress stream (through the sidecar). */
  open: (showId: string, signal: AbortSignal) => Promise<Response>;
  /** An upstream without subscribers closes after this long (a show's users come and go). */
  lingerMs: number;
  /** Wait before opening again after a failed attempt. */
  retryMs: number;
  /** An upstream silent this long (not even a heartbeat) is opened again. */
  idleMs: number;
  onUpstream?: (event: 'opened' | 'ended' | 'failed', showId: string, detail?: unknown) => void;
}

/** A subscriber: hears each progress, and `ended` when this gateway stops following (it shuts down). */
export interface ProgressSubscriber {
  progress: ProgressListener;
  ended: () => void;
}

interface Feed {
  listeners: Set<ProgressSubscriber>;
  latest: AdmissionProgress | undefined;
  stop: AbortController;
  linger: NodeJS.Timeout | undefined;
  open: boolean;
  /** When a poll last asked for the show (`follow`): the feed stays `lingerMs` after it. */
  followedAt: number;
}

export function createProgressFeeds(options: ProgressFeedOptions) {
  const feeds = new Map<string, Feed>();
  let upstreamsOpened = 0;

  function publish(feed: Feed, progress: AdmissionProgress): void {
    const previous = feed.latest;
    // A reconnect may land on a replica a moment behind: progress never goes back.
    if (previous && progress.servedUpTo < previous.servedUpTo) return;
    feed.latest = progress;
    for (const listener of feed.listeners) listener.progress(progress);
  }

  async function readOnce(showId: string, feed: Feed): Promise<boolean> {
    const attempt = new AbortController();
    const signal = AbortSignal.any([feed.stop.signal, attempt.signal]);
    let idle: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => attempt.abort(), options.idleMs);
    };
    try {
      watch();
      const response = await options.open(showId, signal);
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        options.onUpstream?.('failed', showId, `status ${response.status}`);
        return false;
      }
      upstreamsOpened++;
      feed.open = true;
      options.onUpstream?.('opened', showId);
      const parser = createParser({
        onEvent: (event) => {
          if (event.event !== 'progress') return;
          const progress = progressFrom(event.data);
          if (progress) publish(feed, progress);
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        watch();
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
      options.onUpstream?.('ended', showId);
      return true;
    } catch (error) {
      if (!feed.stop.signal.aborted) options.onUpstream?.('failed', showId, error);
      return false;
    } finally {
      feed.open = false;
      clearTimeout(idle);
    }
  }

  async function run(showId: string, feed: Feed): Promise<void> {
    while (!feed.stop.signal.aborted) {
      const ended = await readOnce(showId, feed);
      if (feed.stop.signal.aborted) return;
      if (!ended) await new Promise((resolve) => setTimeout(resolve, options.retryMs));
    }
  }

  function feedOf(showId: string): Feed {
    let feed = feeds.get(showId);
    if (!feed) {
      feed = {
        listeners: new Set(),
        latest: undefined,
        stop: new AbortController(),
        linger: undefined,
        open: false,
        followedAt: 0,
      };
      feeds.set(showId, feed);
      void run(showId, feed);
    }
    return feed;
  }

  /** Without subscribers, the feed closes once `lingerMs` passed since the last of them or poll. */
  function linger(showId: string, feed: Feed, delayMs = options.lingerMs): void {
    if (feed.listeners.size > 0 || feed.linger) return;
    feed.linger = setTimeout(() => {
      feed.linger = undefined;
      if (feed.listeners.size > 0) return;
      const sincePoll = Date.now() - feed.followedAt;
      if (sincePoll < options.lingerMs) return linger(showId, feed, options.lingerMs - sincePoll);
      feed.stop.abort();
      if (feeds.get(showId) === feed) feeds.delete(showId);
    }, delayMs);
  }

  return {
    /** Follows the show's progress; the listener hears the latest known one at once. Returns the unsubscribe. */
    subscribe(showId: string, listener: ProgressSubscriber): () => void {
      const feed = feedOf(showId);
      clearTimeout(feed.linger);
      feed.linger = undefined;
      feed.listeners.add(listener);
      if (feed.latest) listener.progress(feed.latest);
      return () => {
        feed.listeners.delete(listener);
        linger(showId, feed);
      };
    },

    /**
     * The show's progress for a poll: follows the show (opening its upstream if needed, keeping it
     * `lingerMs` after this call) and answers the progress only while the upstream is open, so what
     * it answers is at most one heartbeat old; undefined otherwise.
     */
    follow(showId: string): AdmissionProgress | undefined {
      const feed = feedOf(showId);
      feed.followedAt = Date.now();
      linger(showId, feed);
      return feed.open ? feed.latest : undefined;
    },

    /** The latest progress this gateway knows for the show. */
    latest(showId: string): AdmissionProgress | undefined {
      return feeds.get(showId)?.latest;
    },

    /** What the feeds hold now: shows followed, upstreams open, subscribers, upstreams opened so far. */
    stats() {
      let open = 0;
      let subscribers = 0;
      for (const feed of feeds.values()) {
        if (feed.open) open++;
        subscribers += feed.listeners.size;
      }
      return { shows: feeds.size, upstreamsOpen: open, subscribers, upstreamsOpened };
    },

    /** Stops following every show and ends every subscriber (whose clients reconnect elsewhere). */
    close(): void {
      for (const feed of feeds.values()) {
        clearTimeout(feed.linger);
        feed.stop.abort();
        for (const listener of [...feed.listeners]) listener.ended();
      }
      feeds.clear();
    },
  };
}

export type ProgressFeeds = ReturnType<typeof createProgressFeeds>;

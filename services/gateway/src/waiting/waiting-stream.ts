// A waiting user's stream, held by the gateway: `position` events computed here from the show's
// shared progress, then `admitted` with the user's pass. The user's own standing (their arrival
// number, and at the end their pass) comes from the queue's position route, called with the verified
// user's identity like any forwarded request: once when the stream opens and once when the progress
// reaches their number. So a pass reaches only its user, and nothing the client sends (Last-Event-ID
// included) can name another user's place or pass.
//
// Each stream buffers at most one unsent position: while the client does not read, only the latest
// position is kept, and a client that reads nothing for `stallMs` is dropped. The others never wait
// for it.
//
// Served by Node, a stream writes its events straight to the client's response (`outgoing`): each
// admission step is one event to every waiting stream, and a web stream in between costs a chunk
// object, a read and a promise per event. Elsewhere (and in tests) it is a web stream.
import { ProblemError } from '@reservex/platform/http';
import {
  type AdmissionProgress,
  positionEventId,
  type WaitingView,
  waitingViewOf,
} from '../domain/waiting-position.ts';
import type { ProgressFeeds } from './progress-feeds.ts';

export interface WaitingStreamOptions {
  showId: string;
  feeds: ProgressFeeds;
  /** The user's standing from the queue (its position route, as this user). */
  standing: () => Promise<Response>;
  /** The id of the last event the client saw, when it reconnects. */
  lastEventId: string | undefined;
  heartbeatMs: number;
  stallMs: number;
  /** The client went away. */
  signal: AbortSignal;
  onDropped?: () => void;
  /**
   * The client's response when served by Node: the stream is written to it directly, with these
   * headers added to the stream's own, and the Response returned only says it was sent.
   */
  outgoing?: { response: NodeOutgoing; headers: Headers };
}

/** What the stream needs of Node's `ServerResponse`. */
export interface NodeOutgoing {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
  destroy(): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Where a stream's events go: a web stream's controller, or Node's response. */
interface EventSink {
  /** Whether the client has taken what was sent (else a new position waits). */
  ready(): boolean;
  send(text: string): void;
  /** Ends the stream after `finalText`; `drop`: the client stopped reading, let go of it at once. */
  close(finalText?: string, drop?: boolean): void;
}

type Standing =
  | { status: 'waiting'; position: number; number: number }
  | { status: 'admitted'; [field: string]: unknown };

const encoder = new TextEncoder();

function eventText(event: string, data: unknown, id?: string, retryMs?: number): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n${id === undefined ? '' : `id: ${id}\n`}${
    retryMs === undefined ? '' : `retry: ${retryMs}\n`
  }\n`;
}

/**
 * The header by which `@hono/node-server` leaves a response to the handler that wrote it. A fresh
 * Response per stream rather than the server's shared `RESPONSE_ALREADY_SENT`: middleware that runs
 * after the handler (CORS' `Vary`) adds headers to the response it is given.
 */
const alreadySent = { 'x-hono-already-sent': 'true' };

const streamHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

async function standingOf(response: Response): Promise<Standing | undefined> {
  if (response.status !== 200) return undefined;
  const body = (await response.json().catch(() => undefined)) as Standing | undefined;
  if (body?.status === 'admitted') return body;
  if (body?.status === 'waiting' && Number.isSafeInteger(body.number)) return body;
  return undefined;
}

/**
 * The stream's response, or the queue's own answer when there is nothing to stream (the user is not
 * in this room, the show does not exist): that answer is a problem and no stream opens.
 */
export async function openWaitingStream(options: WaitingStreamOptions): Promise<Response> {
  const first = await options.standing();
  if (first.status !== 200) return first;
  const standing = await standingOf(first);
  if (!standing) throw new Error('the queue answered a standing this gateway cannot read');
  if (standing.status === 'admitted') {
    return new Response(eventText('admitted', standing, undefined, 1000), { headers: streamHeaders });
  }

  let number = standing.number;
  let lastSentId = options.lastEventId;
  let retrySent = false;
  let dirty = false;
  let checking = false;
  let ended = false;
  /** Since when an event waits for a client that does not read. */
  let blockedSince: number | undefined;
  let latest: AdmissionProgress = {
    servedUpTo: standing.number - standing.position,
    waiting: 0,
    ratePerSecond: 0,
  };
  let sink!: EventSink;
  let unsubscribe: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  function end(finalEvent?: string, drop = false): void {
    if (ended) return;
    ended = true;
    unsubscribe?.();
    clearInterval(heartbeat);
    options.signal.removeEventListener('abort', onAbort);
    sink.close(finalEvent, drop);
  }

  function onAbort(): void {
    end();
  }

  function writePosition(view: WaitingView): void {
    const id = positionEventId(view.number, latest.servedUpTo);
    if (id === lastSentId) return;
    sink.send(eventText('position', view, id, retrySent ? undefined : 1000));
    retrySent = true;
    lastSentId = id;
  }

  function update(): void {
    if (ended) return;
    const view = waitingViewOf(number, latest);
    if (view === 'served') {
      void checkAdmission();
      return;
    }
    if (sink.ready()) {
      dirty = false;
      writePosition(view);
    } else {
      dirty = true;
      blockedSince ??= Date.now();
    }
  }

  /** The progress reached this user's number: their pass, asked for as them. */
  async function checkAdmission(): Promise<void> {
    if (checking || ended) return;
    checking = true;
    try {
      const response = await options.standing();
      if (response.status === 404) {
        await response.body?.cancel();
        end(eventText('left', { status: 'absent' }));
        return;
      }
      const now = await standingOf(response);
      if (!now) return; // the queue could not answer now: asked again on the next progress
      if (now.status === 'admitted') {
        end(eventText('admitted', now));
        return;
      }
      // Joined again after a pass ran out: a new number, further back.
      number = now.number;
      update();
    } catch (error) {
      // The token ran out or was signed out: no pass on this stream. Anything else is asked again
      // on the next progress or heartbeat.
      if (error instanceof ProblemError && error.status === 401) end();
    } finally {
      checking = false;
    }
  }

  /** Starts the stream on its sink: the first comment, the first position, the feed and heartbeats. */
  function start(to: EventSink): void {
    sink = to;
    sink.send(': waiting\n\n');
    if (options.signal.aborted) {
      end();
      return;
    }
    options.signal.addEventListener('abort', onAbort);
    update();
    unsubscribe = options.feeds.subscribe(options.showId, {
      progress: (progress) => {
        latest = progress;
        update();
      },
      ended: () => end(),
    });
    heartbeat = setInterval(() => {
      if (ended) return;
      if (!sink.ready()) {
        blockedSince ??= Date.now();
        if (Date.now() - blockedSince >= options.stallMs) {
          options.onDropped?.();
          end(undefined, true);
        }
        return;
      }
      sink.send(': keep-alive\n\n');
      // A check that failed earlier is tried again even when the progress stands still.
      if (waitingViewOf(number, latest) === 'served') void checkAdmission();
    }, options.heartbeatMs);
  }

  /** The client took what was sent: a position held back goes out. */
  function drained(): void {
    blockedSince = undefined;
    if (dirty) update();
  }

  if (options.outgoing) {
    const { response: outgoing, headers } = options.outgoing;
    const head: Record<string, string> = {};
    headers.forEach((value, name) => {
      head[name] = value;
    });
    outgoing.writeHead(200, { ...head, ...streamHeaders });
    const gone = () => end();
    outgoing.on('drain', drained);
    outgoing.on('close', gone);
    start({
      ready: () => !outgoing.writableNeedDrain,
      send: (text) => {
        if (!outgoing.destroyed) outgoing.write(text);
      },
      close: (finalText, drop) => {
        outgoing.off('drain', drained);
        outgoing.off('close', gone);
        if (outgoing.destroyed) return;
        if (drop) outgoing.destroy();
        else outgoing.end(finalText);
      },
    });
    return new Response(null, { headers: alreadySent });
  }

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        start({
          ready: () => (controller.desiredSize ?? 0) > 0,
          send: (text) => controller.enqueue(encoder.encode(text)),
          close: (finalText) => {
            try {
              if (finalText) controller.enqueue(encoder.encode(finalText));
              controller.close();
            } catch {
              // already cancelled by the client
            }
          },
        });
      },
      pull() {
        drained();
      },
      cancel() {
        end();
      },
    },
    { highWaterMark: 1 },
  );
  return new Response(stream, { headers: streamHeaders });
}

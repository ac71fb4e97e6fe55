// One client process of the queue benchmark's soak: holds waiting streams at the gateway for a
// share of the users, as EventSource would (reconnecting with Last-Event-ID when a stream ends before
// its user is admitted); each time one of its users is admitted, the next of its reserve users (who
// joined after everybody else) opens a stream, so the number of streams held stays up while the
// admitter works through the room. Reports to the benchmark over IPC: streams held, admitted,
// dropped, its memory, and at the end the lag of every position update a sampled user saw (arrival
// time minus the admission step's time in the queue's admission log).
import { type IncomingMessage, request } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Redis } from 'ioredis';

export interface ClientsInput {
  gateway: string;
  showId: string;
  tokens: string[];
  /** Users who take the place of an admitted one, in their order of arrival. */
  reserve: string[];
  /** Streams this process opens per second while ramping up. */
  openPerSecond: number;
  /** When to let go of every stream (epoch ms). */
  untilMs: number;
  /** Every n-th user records the arrival of its position updates. */
  sampleEvery: number;
  redisUrl: string;
  admissionLogKey: string;
}

export interface ClientsStatus {
  kind: 'status';
  held: number;
  opened: number;
  admitted: number;
  dropped: number;
  refused: number;
  /** Opens that failed before an answer, by error code (a connection reset, a timeout). */
  failed: Record<string, number>;
  /** Opens waiting for their answer now. */
  opening: number;
  rssBytes: number;
}

export interface ClientsResult {
  kind: 'result';
  /** ms from each admission step to a sampled user seeing it. */
  lags: number[];
  status: ClientsStatus;
}

const status: ClientsStatus = {
  kind: 'status',
  held: 0,
  opened: 0,
  admitted: 0,
  dropped: 0,
  refused: 0,
  failed: {},
  opening: 0,
  rssBytes: 0,
};
/** servedUpTo of each update a sampled user saw, and when. */
const seen: { servedUpTo: number[]; atMs: number[] } = { servedUpTo: [], atMs: [] };

/** Opens a stream with node:http: a client this cheap leaves the machine's cores to the servers measured. */
function openStream(
  url: string,
  headers: Record<string, string>,
  stop: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { headers, signal: stop, agent: false }, resolve);
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Reads a stream's events until it ends, fails, or `onEvent` returns true (then it is closed). */
function readEvents(
  response: IncomingMessage,
  onEvent: (event: EventSourceMessage) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      response.destroy();
      resolve();
    };
    const parser = createParser({
      onEvent: (event) => {
        if (!done && onEvent(event)) finish();
      },
    });
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => parser.feed(chunk));
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  });
}

/** Holds one user's stream until they are admitted (true) or the run ends (false). */
async function hold(
  input: ClientsInput,
  token: string,
  sampled: boolean,
  stop: AbortSignal,
): Promise<boolean> {
  const url = `${input.gateway}/api/v1/queue/${input.showId}/events`;
  let lastEventId: string | undefined;
  while (!stop.aborted) {
    let admitted = false;
    let held = false;
    try {
      status.opening++;
      const response = await openStream(
        url,
        {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        stop,
      ).finally(() => status.opening--);
      if (response.statusCode !== 200) {
        status.refused++;
        response.resume();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      held = true;
      status.held++;
      status.opened++;
      // The first position of a connection is a snapshot, not an update: not a lag.
      let first = true;
      await readEvents(response, ({ event, id }) => {
        if (event === 'admitted') {
          admitted = true;
          return true;
        }
        const served = id === undefined ? undefined : /^\d+\.(\d+)$/.exec(id);
        if (!served) return false;
        lastEventId = id;
        if (sampled && !first) {
          seen.servedUpTo.push(Number(served[1]));
          seen.atMs.push(Date.now());
        }
        first = false;
        return false;
      });
    } catch (error) {
      // aborted at the end, or the connection failed: a failed open is counted by its code
      if (!held && !stop.aborted) {
        const code = (error as { code?: string }).code ?? 'other';
        status.failed[code] = (status.failed[code] ?? 0) + 1;
      }
    }
    if (held) status.held--;
    if (admitted) {
      status.admitted++;
      return true;
    }
    if (stop.aborted) return false;
    if (held) status.dropped++;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return false;
}

async function run(input: ClientsInput): Promise<void> {
  const stop = new AbortController();
  const report = setInterval(() => {
    status.rssBytes = process.memoryUsage().rss;
    process.send?.(status);
  }, 2000);
  const streams: Promise<unknown>[] = [];
  let opened = 0;
  const reserve = [...input.reserve];
  const open = (token: string) => {
    const stream = hold(input, token, opened++ % input.sampleEvery === 0, stop.signal).then((admitted) => {
      const next = reserve.shift();
      if (admitted && next !== undefined && !stop.signal.aborted) open(next);
    });
    streams.push(stream);
  };
  const gapMs = 1000 / input.openPerSecond;
  const started = Date.now();
  for (const [i, token] of input.tokens.entries()) {
    const due = started + i * gapMs;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    open(token);
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, input.untilMs - Date.now())));
  status.rssBytes = process.memoryUsage().rss;
  const final = { ...status };
  stop.abort();
  await Promise.allSettled(streams);
  clearInterval(report);

  // The admission log: `number|user|admitter|at`; a fresh show's admission numbers are its arrival numbers.
  const redis = new Redis(input.redisUrl);
  const admittedAt = new Map<number, number>();
  for (const line of await redis.lrange(input.admissionLogKey, 0, -1)) {
    const [number, , , at] = line.split('|');
    admittedAt.set(Number(number), Number(at));
  }
  await redis.quit();
  const lags: number[] = [];
  for (let i = 0; i < seen.servedUpTo.length; i++) {
    const at = admittedAt.get(seen.servedUpTo[i]!);
    if (at !== undefined) lags.push(seen.atMs[i]! - at);
  }
  const result: ClientsResult = { kind: 'result', lags, status: final };
  process.send?.(result, () => process.exit(0));
}

process.once('message', (input: ClientsInput) => {
  void run(input);
});

// Waiting users' streams are held by the gateway: one upstream per show and gateway carries the
// admission progress from the queue (through both sidecars, past the ordinary invocation timeout, and
// cut by the queue every few seconds here so the resumption is exercised all along), and each user's
// position is computed at the edge. Positions follow the admission order, the pass reaches only its
// user, a gateway restart is survived with Last-Event-ID, and bad input is refused before any stream
// opens.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import { RESILIENCY, type StartedApps } from '@reservex/local';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  call,
  expectProblem,
  mintAccessToken,
  newSigningKey,
  openShow,
  type SigningKey,
  startEdge,
} from './support.ts';

const infra = inject('infra');
const HEARTBEAT_MS = 1000;
/** Two admissions a second: a user behind 40 others waits about 20 s. */
const RATE = 2;

interface StreamEvent {
  event: string;
  data: string;
  id: string | undefined;
  connection: number;
}

interface Followed {
  events: StreamEvent[];
  connections: number;
  /** Stops following (the client goes away). */
  stop(): void;
  /** Resolves when the stream told `admitted` or `left`, or the deadline passed. */
  done: Promise<void>;
}

/**
 * Follows a waiting stream as EventSource does: reconnects when it ends or cannot be reached, sending
 * the id of the last event seen as Last-Event-ID, until the user is admitted or has left.
 */
function follow(url: string, token: string, timeoutMs: number): Followed {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  const followed: Followed = {
    events: [],
    connections: 0,
    stop: () => stop.abort(),
    done: Promise.resolve(),
  };
  let lastEventId: string | undefined;
  followed.done = (async () => {
    while (!signal.aborted) {
      try {
        const response = await fetch(url, {
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'text/event-stream',
            ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
          },
          signal,
        });
        if (response.status !== 200 || !response.body) {
          await response.body?.cancel();
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        const connection = ++followed.connections;
        let ended = false;
        const parser = createParser({
          onEvent: ({ event = 'message', data, id }) => {
            if (ended || data === '') return;
            if (id !== undefined) lastEventId = id;
            followed.events.push({ event, data, id, connection });
            ended = event === 'admitted' || event === 'left';
          },
        });
        for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
          parser.feed(chunk);
          if (ended) return;
        }
      } catch {
        // unreachable for a moment (a restart): try again, as EventSource does
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return followed;
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Progress streams the queue holds open for a show now, as its log tells. */
function openProgressStreams(logs: string, showId: string): number {
  let open = 0;
  for (const line of logs.split('\n')) {
    if (!line.includes(showId) || !line.includes('progress stream')) continue;
    const entry = JSON.parse(line) as { msg?: string; show_id?: string };
    if (entry.show_id !== showId) continue;
    if (entry.msg === 'progress stream opened') open++;
    if (entry.msg === 'progress stream closed') open--;
  }
  return open;
}

describe('edge: waiting users’ streams at the gateway', () => {
  let key: SigningKey;
  let stack: StartedApps<AppId>;
  let gateway: string;

  beforeAll(async () => {
    key = await newSigningKey();
    stack = await startEdge(infra, {
      signingKey: key,
      env: {
        queue: {
          ADMISSION_RATE: String(RATE),
          SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
          // The queue ends each progress stream after 3 s: the gateway opens it again unnoticed.
          SSE_MAX_DURATION_MS: '3s',
        },
        gateway: { WAITING_STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS) },
      },
    });
    gateway = stack.apps.gateway.url;
  });
  afterAll(() => stack?.stop());

  async function joinAll(showId: string, count: number, prefix: string): Promise<string[]> {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      const token = await mintAccessToken(key, { userId: `${prefix}-${i}-${randomUUID()}` });
      const joined = await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, { token });
      expect(joined.status, joined.text).toBe(200);
      tokens.push(token);
    }
    return tokens;
  }

  it('a waiting user’s stream stays open past the invocation timeout, heartbeats still flowing', async () => {
    const { showId } = await openShow(gateway, key);
    // 40 users ahead: the last waits about 20 s at two admissions a second.
    await joinAll(showId, 40, 'ahead');
    const [waiting] = await joinAll(showId, 1, 'waiting');

    const invokeTimeoutMs = Number.parseInt(RESILIENCY.invokeTimeout, 10) * 1000;
    const watchMs = invokeTimeoutMs + 4000;
    const opened = Date.now();
    const response = await fetch(`${gateway}/api/v1/queue/${showId}/events`, {
      headers: { authorization: `Bearer ${waiting}`, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(watchMs + 5000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const arrivals: { atMs: number; text: string }[] = [];
    let endedAtMs: number | undefined;
    try {
      let pending = reader.read();
      while (Date.now() - opened < watchMs) {
        const next = await Promise.race([
          pending,
          new Promise<'watching'>((resolve) => setTimeout(() => resolve('watching'), 500)),
        ]);
        if (next === 'watching') continue;
        if (next.done) {
          endedAtMs = Date.now() - opened;
          break;
        }
        arrivals.push({ atMs: Date.now() - opened, text: next.value });
        pending = reader.read();
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }

    expect(endedAtMs, 'the stream ended before the user stopped waiting').toBeUndefined();
    const text = arrivals.map((a) => a.text).join('');
    expect(text).toContain('event: position');
    expect(text).not.toContain('event: admitted');
    const late = arrivals.filter((a) => a.atMs > invokeTimeoutMs + 1000);
    expect(
      late.filter((a) => a.text.includes('keep-alive')).length,
      JSON.stringify(arrivals),
    ).toBeGreaterThan(0);
    // The progress kept coming after the queue cut its upstream (every 3 s).
    expect(late.filter((a) => a.text.includes('event: position')).length, text).toBeGreaterThan(0);
  });

  it('positions come from one upstream per show, follow the admission order, and each pass reaches its user', async () => {
    const { showId } = await openShow(gateway, key);
    await joinAll(showId, 10, 'ahead');
    const tokens = await joinAll(showId, 5, 'streaming');
    const streams = tokens.map((token) => follow(`${gateway}/api/v1/queue/${showId}/events`, token, 60_000));
    // A client that opens a stream and never reads it does not hold the others back.
    const silent = await fetch(`${gateway}/api/v1/queue/${showId}/events`, {
      headers: { authorization: `Bearer ${tokens[4]}`, accept: 'text/event-stream' },
    });
    expect(silent.status).toBe(200);

    await expect
      .poll(() => streams.every((s) => s.events.some((e) => e.event === 'position')), { timeout: 15_000 })
      .toBe(true);
    // Six streams of this show at this gateway, one progress stream at the queue (none for a moment
    // while a cut one is opened again).
    const open: number[] = [];
    const watching = setInterval(() => open.push(openProgressStreams(stack.apps.queue.logs(), showId)), 100);
    await Promise.all(streams.map((s) => s.done));
    clearInterval(watching);
    await silent.body?.cancel();
    expect(open).toContain(1);
    expect(Math.max(...open)).toBe(1);

    const admissions = streams.map((s, i) => {
      const admitted = s.events.find((e) => e.event === 'admitted');
      expect(admitted, JSON.stringify(s.events)).toBeDefined();
      const body = JSON.parse(admitted!.data) as { passToken: string; admissionNumber: number };
      expect(payloadOf(body.passToken).sub).toBe(payloadOf(tokens[i]!).sub);
      const positions = s.events.filter((e) => e.event === 'position').map((e) => JSON.parse(e.data));
      // The user's number does not change, and the position only ever goes down.
      expect(new Set(positions.map((p) => p.number)).size).toBe(1);
      for (let j = 1; j < positions.length; j++) {
        expect(positions[j].position, JSON.stringify(positions)).toBeLessThan(positions[j - 1].position);
      }
      return { number: positions[0].number as number, admissionNumber: body.admissionNumber };
    });
    // Arrival order is admission order.
    expect(admissions.map((a) => a.number)).toEqual([11, 12, 13, 14, 15]);
    expect(admissions.map((a) => a.admissionNumber)).toEqual([11, 12, 13, 14, 15]);
    // Everyone left: the upstream closes after its linger, not at once; the queue held one at a time.
    expect(openProgressStreams(stack.apps.queue.logs(), showId)).toBeLessThanOrEqual(1);
  });

  it('position polls are answered at the edge from the show’s progress, in admission order, each pass from the queue to its user', async () => {
    const { showId } = await openShow(gateway, key);
    await joinAll(showId, 10, 'ahead');
    const tokens = await joinAll(showId, 3, 'polling');
    type Answer = { status: string; position?: number; number?: number; passToken?: string };
    const answers: Answer[][] = tokens.map(() => []);
    const admitted = (i: number) => answers[i]!.at(-1)?.status === 'admitted';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !tokens.every((_, i) => admitted(i))) {
      await Promise.all(
        tokens.map(async (token, i) => {
          if (admitted(i)) return;
          const polled = await call<Answer>(gateway, 'GET', `/api/v1/queue/${showId}/position`, { token });
          expect(polled.status, polled.text).toBe(200);
          answers[i]!.push(polled.body);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    answers.forEach((polls, i) => {
      expect(polls.at(-1)?.status, JSON.stringify(polls)).toBe('admitted');
      expect(payloadOf(polls.at(-1)!.passToken!).sub).toBe(payloadOf(tokens[i]!).sub);
      const waiting = polls.filter((p) => p.status === 'waiting');
      // The number the queue gave at the join, and a position that never goes back.
      expect(new Set(waiting.map((p) => p.number))).toEqual(new Set([11 + i]));
      for (let j = 1; j < waiting.length; j++) {
        expect(waiting[j]!.position, JSON.stringify(waiting)).toBeLessThanOrEqual(waiting[j - 1]!.position!);
      }
    });
    // Most polls never reached the queue: it answered the first ones (before the show's progress
    // was followed here) and each user's last ones (their pass).
    const polls = answers.flat().length;
    const atQueue = stack.apps.queue
      .logs()
      .split('\n')
      .filter(
        (line) => line.includes(`/v1/queue/${showId}/position`) && line.includes('"msg":"request"'),
      ).length;
    expect(polls).toBeGreaterThan(20);
    expect(atQueue).toBeGreaterThanOrEqual(tokens.length);
    expect(atQueue, `${atQueue} of ${polls} polls reached the queue`).toBeLessThan(polls / 2);
  });

  it('waiting users survive a gateway restart, resuming with Last-Event-ID', async () => {
    const { showId } = await openShow(gateway, key);
    await joinAll(showId, 16, 'ahead');
    const tokens = await joinAll(showId, 2, 'resuming');
    const streams = tokens.map((token) => follow(`${gateway}/api/v1/queue/${showId}/events`, token, 60_000));
    await expect
      .poll(() => streams.every((s) => s.events.some((e) => e.event === 'position')), { timeout: 15_000 })
      .toBe(true);

    await stack.apps.gateway.restart();
    await Promise.all(streams.map((s) => s.done));

    for (const s of streams) {
      expect(s.connections, JSON.stringify(s.events)).toBeGreaterThanOrEqual(2);
      expect(s.events.at(-1)?.event, JSON.stringify(s.events)).toBe('admitted');
      const positions = s.events.filter((e) => e.event === 'position').map((e) => JSON.parse(e.data));
      // Across the restart the position never went back, and nothing already seen was told again.
      for (let j = 1; j < positions.length; j++) {
        expect(positions[j].position, JSON.stringify(positions)).toBeLessThan(positions[j - 1].position);
      }
    }
  });

  it('bad input: no token, an unknown show, a malformed show id are refused before any stream opens', async () => {
    const token = await mintAccessToken(key, { userId: `stranger-${randomUUID()}` });
    const anonymous = await call(gateway, 'GET', `/api/v1/queue/${randomUUID()}/events`, {
      headers: { accept: 'text/event-stream' },
    });
    expectProblem(anonymous, 401, 'unauthorized');
    const unknown = await call(gateway, 'GET', `/api/v1/queue/${randomUUID()}/events`, {
      token,
      headers: { accept: 'text/event-stream' },
    });
    expectProblem(unknown, 404);
    const malformed = await call(gateway, 'GET', '/api/v1/queue/not-a-show/events', {
      token,
      headers: { accept: 'text/event-stream' },
    });
    expectProblem(malformed, 422);
  });
});

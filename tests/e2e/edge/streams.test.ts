// Server-sent events through the gateway and two sidecars last as long as the wait does: a user
// waiting in the queue keeps one connection, with heartbeats still arriving after the ordinary
// service-invocation timeout has passed (streaming services get a longer one in the Resiliency).
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import { RESILIENCY, type StartedApps } from '@reservex/local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, mintAccessToken, newSigningKey, openShow, type SigningKey, startEdge } from './support.ts';

const infra = inject('infra');
const HEARTBEAT_MS = 1000;

describe('edge: server-sent events through the gateway', () => {
  let key: SigningKey;
  let stack: StartedApps<AppId>;

  beforeAll(async () => {
    key = await newSigningKey();
    // One active slot: the second user waits for as long as the first keeps it.
    stack = await startEdge(infra, {
      signingKey: key,
      env: { queue: { MAX_ACTIVE: '1', SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) } },
    });
  });
  afterAll(() => stack?.stop());

  it('a waiting user’s stream stays open past the invocation timeout, heartbeats still flowing', async () => {
    const gateway = stack.apps.gateway.url;
    const { showId } = await openShow(gateway, key);
    const first = await mintAccessToken(key, { userId: `first-${randomUUID()}` });
    const second = await mintAccessToken(key, { userId: `second-${randomUUID()}` });
    expect((await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, { token: first })).status).toBe(200);
    await expect
      .poll(
        async () =>
          (await call(gateway, 'GET', `/api/v1/queue/${showId}/position`, { token: first })).body?.status,
        { timeout: 15_000, interval: 200 },
      )
      .toBe('admitted');
    expect((await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, { token: second })).status).toBe(200);

    const invokeTimeoutMs = Number.parseInt(RESILIENCY.invokeTimeout, 10) * 1000;
    const watchMs = invokeTimeoutMs + 4000;
    const opened = Date.now();
    const response = await fetch(`${gateway}/api/v1/queue/${showId}/events`, {
      headers: { authorization: `Bearer ${second}`, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(watchMs + 5000),
    });
    expect(response.status).toBe(200);
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
    const lateHeartbeats = arrivals.filter(
      (a) => a.atMs > invokeTimeoutMs + 1000 && a.text.includes('keep-alive'),
    );
    expect(lateHeartbeats.length, JSON.stringify(arrivals)).toBeGreaterThan(0);
  });
});

// Calls to the public API and what the edge acceptance tests assert about the answers.
import { request as httpRequest } from 'node:http';
import { createParser } from 'eventsource-parser';
import { expect } from 'vitest';

export * from './stack.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One call to the public API. `body` is sent as JSON unless it is a string (sent as is). */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if (/json/.test(response.headers.get('content-type') ?? '') && text) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** A problem+json answer with this status (and type slug, when given). */
export function expectProblem(response: ApiResponse, status: number, type?: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = response.body as { type?: unknown; status?: unknown; title?: unknown };
  expect(typeof body.type).toBe('string');
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  if (type) expect(body.type).toMatch(new RegExp(`/${type}$`));
}

/**
 * A request whose target and header bytes go out exactly as given: fetch would normalise the path
 * (`%2e%2e` becomes a dot segment and is removed) and refuse header bytes above 0x7f.
 */
export function rawCall(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, method, path: target, headers, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          let body: unknown = text;
          if (/json/.test(responseHeaders.get('content-type') ?? '') && text) body = JSON.parse(text);
          resolve({ status: response.statusCode ?? 0, headers: responseHeaders, body, text });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${target}: no answer`)));
    request.on('error', reject);
    request.end();
  });
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Reads an event stream until `done` says so, reconnecting when the server ends it (as EventSource
 * does), bounded by `timeoutMs`. Returns every event seen.
 */
export async function readEvents(
  url: string,
  token: string,
  done: (event: ServerSentEvent) => boolean,
  timeoutMs: number,
): Promise<ServerSentEvent[]> {
  const seen: ServerSentEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let connection = 0; connection < 1000 && Date.now() < deadline; connection++) {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let finished = false;
    const parser = createParser({
      onEvent: ({ event = 'message', data }) => {
        if (finished || data === '') return;
        seen.push({ event, data });
        finished = done({ event, data });
      },
    });
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        parser.feed(value);
        if (finished) return seen;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

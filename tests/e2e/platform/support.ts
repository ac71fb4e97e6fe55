// Shared by the foundation acceptance tests: the two test apps and bounded polling.
import { fileURLToPath } from 'node:url';

export const producerApp = fileURLToPath(new URL('./apps/producer.ts', import.meta.url));
export const consumerApp = fileURLToPath(new URL('./apps/consumer.ts', import.meta.url));

/**
 * Reads until `done` holds or `timeoutMs` passes, then returns the last value read (the test's
 * assertion reports what was seen). A failing read is retried until the deadline.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const interval = options.intervalMs ?? 250;
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = { value: await read() };
      if (done(last.value)) return last.value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  if (last) return last.value;
  throw lastError instanceof Error ? lastError : new Error(`nothing could be read: ${String(lastError)}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

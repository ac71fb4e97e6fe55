// How an OpenAPI document describes a server-sent event stream: the schema of one event as a client
// parses it (the `event`, `data`, `id` and `retry` fields), not of the stream as one string.
import { z } from '@hono/zod-openapi';

export const ServerSentEvent = z
  .object({
    event: z.string().optional(),
    data: z.string().openapi({ description: 'JSON text' }),
    id: z.string().optional(),
    retry: z.number().int().nonnegative().optional(),
  })
  .openapi('ServerSentEvent');

/** The response content of a route that streams server-sent events. */
export function eventStreamContent() {
  return { 'text/event-stream': { schema: ServerSentEvent } };
}

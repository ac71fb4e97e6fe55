// Dead-letter replay on the owner's side. Only the owner of a topic publishes it (the pub/sub scopes
// refuse everyone else), so an operator's replay asks the owner — through query, which lists the dead
// letters — to publish one of its own events again. The owner sends it again from its outbox, with
// the same id and payload it first published: an event it never published (a forgery that was
// dead-lettered) is not in its outbox and cannot be laundered through a replay. Sent rows stay in the
// outbox for the relay's retention (24 h by default); an older event can no longer be replayed.

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type AppId, REPLAY_PATH, type Topic } from '@reservex/contracts';
import { and, eq, sql as statement } from 'drizzle-orm';
import type { Env } from 'hono';
import type { Dapr } from '../dapr/index.ts';
import type { Executor } from '../db/index.ts';
import { problem, problemResponses } from '../http/problem.ts';
import { OUTBOX_CHANNEL, outbox } from './table.ts';

export type ReplayRequest = { eventId: string; topic: string };

/** Puts a published event back in line for the relay. False when the outbox does not hold it. */
export async function republish(db: Executor, request: ReplayRequest): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(outbox)
      .set({ sentAt: null, nextAttemptAt: statement`now()`, attempts: 0, lastError: null })
      .where(and(eq(outbox.id, request.eventId), eq(outbox.topic, request.topic)))
      .returning({ id: outbox.id });
    if (rows.length === 0) return false;
    await tx.execute(statement`select pg_notify(${OUTBOX_CHANNEL}, '')`);
    return true;
  });
}

export const ReplayRequestSchema = z.object({
  eventId: z.uuid(),
  topic: z.string().min(1).max(200),
});

const replayRoute = createRoute({
  method: 'post',
  path: REPLAY_PATH,
  tags: ['operations'],
  summary: 'Publish one of this service’s own events again (dead-letter replay, asked by query)',
  request: { body: { required: true, content: { 'application/json': { schema: ReplayRequestSchema } } } },
  responses: {
    204: { description: 'The event is queued for publishing again, with its first id and payload' },
    ...problemResponses(404, 422),
  },
});

/** Serves REPLAY_PATH for the topics this service owns; the sidecar's access control admits only query. */
export function serveReplay<E extends Env>(
  app: OpenAPIHono<E>,
  options: { db: Executor; owns: readonly Topic[] },
) {
  app.openapi(replayRoute, async (c) => {
    const request = c.req.valid('json');
    if (!(options.owns as readonly string[]).includes(request.topic)) {
      return problem(422, 'validation-failed', `this service does not publish ${request.topic}`);
    }
    if (!(await republish(options.db, request))) {
      return problem(404, 'not-found', `no event ${request.eventId} of ${request.topic} in the outbox`);
    }
    return c.body(null, 204);
  });
}

/** The asking side (query): invokes the owner's REPLAY_PATH through the caller's sidecar. */
export function askOwnerThrough(invoke: Dapr['invoke']) {
  return async (owner: AppId, request: { eventId: string; topic: Topic }): Promise<boolean> => {
    const response = await invoke(owner, REPLAY_PATH.replace(/^\/+/, ''), {
      httpMethod: 'POST',
      body: request,
    });
    if (response.status === 204) return true;
    if (response.status === 404) return false;
    return problem(503, 'service-unavailable', `${owner} did not take the replay (HTTP ${response.status})`);
  };
}

// Who is calling. The gateway is the single public entry: it authenticates the user and sets these
// headers (dropping any a client sent), so a service reads the caller from them and nowhere else.

import { USER_FACING_CALLER } from '@reservex/contracts';
import type { Context } from 'hono';
import { problem } from './problem.ts';

export type Caller = { userId: string; roles: ReadonlySet<string> };

export function callerOf(c: Context): Caller {
  // Set by the calling sidecar. The callee sidecar's access control already refuses other apps on
  // user routes; this is defence in depth should that configuration ever be lost.
  const via = c.req.header('dapr-caller-app-id');
  if (via !== undefined && via !== USER_FACING_CALLER) {
    problem(403, 'forbidden', `user routes are called through the ${USER_FACING_CALLER} only, not by ${via}`);
  }
  const userId = c.req.header('x-user-id')?.trim();
  if (!userId) problem(401, 'unauthorized', 'no authenticated user (x-user-id is set by the gateway)');
  const roles = new Set(
    (c.req.header('x-user-roles') ?? '')
      .split(',')
      .map((role) => role.trim().toUpperCase())
      .filter(Boolean),
  );
  return { userId, roles };
}

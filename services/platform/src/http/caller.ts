// Who is calling: the identity the gateway set, read by contracts' `callerFrom`; a request without
// one is answered 401.
import { type Caller, callerFrom, USER_FACING_CALLER } from '@reservex/contracts';
import type { Context } from 'hono';
import { problem } from './problem.ts';

export type { Caller };

export function callerOf(c: Context): Caller {
  // Set by the calling sidecar. The callee sidecar's access control already refuses other apps on
  // user routes; this is defence in depth should that configuration ever be lost.
  const via = c.req.header('dapr-caller-app-id');
  if (via !== undefined && via !== USER_FACING_CALLER) {
    problem(403, 'forbidden', `user routes are called through the ${USER_FACING_CALLER} only, not by ${via}`);
  }
  const caller = callerFrom((name) => c.req.header(name));
  if (!caller) problem(401, 'unauthorized', 'no authenticated user (x-user-id is set by the gateway)');
  return caller;
}

// Who is calling: the identity the gateway set, read by contracts' `callerFrom`; a request without
// one is answered 401.
import { type Caller, callerFrom } from '@reservex/contracts';
import type { Context } from 'hono';
import { problem } from './problem.ts';

export type { Caller };

export function callerOf(c: Context): Caller {
  const caller = callerFrom((name) => c.req.header(name));
  if (!caller) problem(401, 'unauthorized', 'no authenticated user (x-user-id is set by the gateway)');
  return caller;
}

// Door staff: an administrator makes a user door staff of one show (the role STAFF:<showId>) or
// takes it back. The role reaches the access token at the user's next login or refresh. Reached
// through the gateway's admin routes; the ADMIN role is checked here as well.
import { createRoute, z } from '@hono/zod-openapi';
import { staffRole } from '@reservex/contracts';
import type { App } from '@reservex/platform/http';
import { callerOf, problem, problemResponses } from '@reservex/platform/http';
import type { BlankEnv } from 'hono/types';
import { type AccountDb, grantRole, revokeRole } from './db/accounts.ts';
import { MAX_STAFF_SHOWS } from './domain/roles.ts';

const StaffParams = z.object({
  userId: z.uuid().openapi({ param: { name: 'userId', in: 'path' } }),
  showId: z.uuid().openapi({ param: { name: 'showId', in: 'path' } }),
});

const staffRoute = {
  path: '/v1/admin/staff/{userId}/shows/{showId}' as const,
  tags: ['admin'],
  description: 'Needs the ADMIN role. Takes effect at the user’s next login or token refresh.',
  request: { params: StaffParams },
};

const grantRoute = createRoute({
  ...staffRoute,
  method: 'put',
  summary: 'Make a user door staff of a show (STAFF role bound to the show; idempotent)',
  responses: { 204: { description: 'Granted' }, ...problemResponses(401, 403, 404, 409, 422) },
});

const revokeRoute = createRoute({
  ...staffRoute,
  method: 'delete',
  summary: 'Take back a user’s door staff role for a show (idempotent)',
  responses: { 204: { description: 'Revoked' }, ...problemResponses(401, 403, 404, 422) },
});

function requireAdmin(c: Parameters<typeof callerOf>[0]): void {
  if (!callerOf(c).roles.has('ADMIN')) problem(403, 'forbidden', 'this route needs the ADMIN role');
}

export function registerStaffRoutes(app: App<BlankEnv>, db: AccountDb): void {
  app.openapi(grantRoute, async (c) => {
    requireAdmin(c);
    const { userId, showId } = c.req.valid('param');
    const outcome = await grantRole(db, userId, staffRole(showId), { maxStaffRoles: MAX_STAFF_SHOWS });
    if (outcome === 'no-user') problem(404, 'not-found', `no user ${userId}`);
    if (outcome === 'too-many') {
      problem(409, 'too-many-staff-shows', `a user may be door staff of at most ${MAX_STAFF_SHOWS} shows`);
    }
    return c.body(null, 204);
  });

  app.openapi(revokeRoute, async (c) => {
    requireAdmin(c);
    const { userId, showId } = c.req.valid('param');
    if (!(await revokeRole(db, userId, staffRole(showId)))) problem(404, 'not-found', `no user ${userId}`);
    return c.body(null, 204);
  });
}

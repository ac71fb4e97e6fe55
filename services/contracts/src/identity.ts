// Who is calling a service behind the gateway. The gateway is the single public entry: it
// authenticates the user and sets these headers (dropping any a client sent), so a service reads the
// caller from them, through `callerFrom`, and nowhere else.

export const USER_ID_HEADER = 'x-user-id';
export const USER_ROLES_HEADER = 'x-user-roles';

export type Caller = { userId: string; roles: ReadonlySet<string> };

/** Longest user id a service accepts (account's ids are UUIDs). */
export const MAX_USER_ID_LENGTH = 128;

/**
 * The caller the gateway named, read through `header` (e.g. hono's `c.req.header`); undefined when
 * no (usable) user id is present. Roles are upper-cased and deduplicated.
 */
export function callerFrom(header: (name: string) => string | null | undefined): Caller | undefined {
  const userId = header(USER_ID_HEADER)?.trim();
  if (!userId || userId.length > MAX_USER_ID_LENGTH) return undefined;
  const roles = new Set(
    (header(USER_ROLES_HEADER) ?? '')
      .split(',')
      .map((role) => role.trim().toUpperCase())
      .filter(Boolean),
  );
  return { userId, roles };
}

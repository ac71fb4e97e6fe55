// Roles carried in the access token. Every user is a USER; ADMIN is granted to the addresses an
// operator lists (ADMIN_EMAILS), so a fresh installation has an administrator without a back door;
// door staff (STAFF:<showId>) are granted by an administrator, one show at a time.

import { z } from '@hono/zod-openapi';
import { isRole, type Role, STAFF_ROLE_PATTERN } from '@reservex/contracts';

export type { Role };

/** A role as the API writes it. */
export const RoleSchema = z
  .union([z.enum(['USER', 'ADMIN']), z.string().regex(STAFF_ROLE_PATTERN)])
  .openapi({ description: 'USER, ADMIN, or STAFF:<showId> (door staff of one show)' });

/** How many shows one person may be door staff of: the roles travel in every access token. */
export const MAX_STAFF_SHOWS = 50;

/** The roles a user holds: what is stored, plus ADMIN when the operator lists the address. */
export function rolesFor(email: string, stored: readonly string[], adminEmails: ReadonlySet<string>): Role[] {
  const granted = new Set<Role>(['USER']);
  if (adminEmails.has(email)) granted.add('ADMIN');
  for (const role of stored) if (isRole(role)) granted.add(role);
  const rank = (role: Role) => (role === 'USER' ? 0 : role === 'ADMIN' ? 1 : 2);
  return [...granted].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** `ADMIN_EMAILS` as a set of normalised addresses. */
export function parseAdminEmails(list: string | undefined): Set<string> {
  return new Set(
    (list ?? '')
      .split(',')
      .map((email) => email.trim().toLowerCase())
      .filter((email) => email.length > 0),
  );
}

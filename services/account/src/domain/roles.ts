// Roles carried in the access token. Every user is a USER; ADMIN is granted to the addresses an
// operator lists (ADMIN_EMAILS), so a fresh installation has an administrator without a back door.
export const roles = ['USER', 'ADMIN'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** The roles a user holds: what is stored, plus ADMIN when the operator lists the address. */
export function rolesFor(email: string, stored: readonly string[], adminEmails: ReadonlySet<string>): Role[] {
  const granted = new Set<Role>(['USER']);
  for (const role of stored) if (isRole(role)) granted.add(role);
  if (adminEmails.has(email)) granted.add('ADMIN');
  return roles.filter((role) => granted.has(role));
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

// The roles an access token carries, as account issues them, the gateway forwards them and the
// services check them. Every user is a USER; ADMIN runs the box office; door staff are bound to one
// show each: `STAFF:<showId>` (a show id in lower case, as the API writes ids).

export const USER_ROLE = 'USER';
export const ADMIN_ROLE = 'ADMIN';

export type StaffRole = `STAFF:${string}`;
export type Role = typeof USER_ROLE | typeof ADMIN_ROLE | StaffRole;

const STAFF_PATTERN = /^STAFF:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The role of door staff for one show. */
export function staffRole(showId: string): StaffRole {
  return `STAFF:${showId.toLowerCase()}`;
}

export function isRole(value: unknown): value is Role {
  return (
    value === USER_ROLE || value === ADMIN_ROLE || (typeof value === 'string' && STAFF_PATTERN.test(value))
  );
}

/** A token's roles claim as roles: anything else in it is dropped. */
export function rolesOf(claim: unknown): Role[] {
  return Array.isArray(claim) ? claim.filter(isRole) : [];
}

/** `STAFF:<showId>` as a regular expression, for API schemas. */
export const STAFF_ROLE_PATTERN = STAFF_PATTERN;

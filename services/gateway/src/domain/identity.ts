// Who is calling, as far as the services behind the gateway are concerned. Only the gateway sets
// these headers, from a verified access token; whatever a client sends under these names is dropped.
import type { Role } from '@reservex/contracts';
import type { Access } from './routes.ts';

export const USER_ID_HEADER = 'x-user-id';
export const USER_ROLES_HEADER = 'x-user-roles';

export type { Role };

export interface Principal {
  userId: string;
  roles: Role[];
  /** The access token's `jti`: what signing out revokes. */
  tokenId: string;
  /** When the access token expires (seconds since the epoch): a revocation need not outlive it. */
  expiresAt: number;
}

export type AccessDecision = { allowed: true } | { allowed: false; status: 401 | 403; detail: string };

export function authorize(access: Access, principal: Principal | undefined): AccessDecision {
  switch (access) {
    case 'public':
      return { allowed: true };
    case 'user':
      return principal
        ? { allowed: true }
        : { allowed: false, status: 401, detail: 'a bearer access token is required' };
    case 'admin':
      if (!principal) return { allowed: false, status: 401, detail: 'a bearer access token is required' };
      return principal.roles.includes('ADMIN')
        ? { allowed: true }
        : { allowed: false, status: 403, detail: 'this route needs the ADMIN role' };
    default: {
      const unreachable: never = access;
      throw new Error(`unknown access ${String(unreachable)}`);
    }
  }
}

/** The trusted identity headers for a verified principal (none for an anonymous call). */
export function identityHeaders(principal: Principal | undefined): Record<string, string> {
  if (!principal) return {};
  return { [USER_ID_HEADER]: principal.userId, [USER_ROLES_HEADER]: principal.roles.join(',') };
}

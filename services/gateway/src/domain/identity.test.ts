import { describe, expect, it } from 'vitest';
import { authorize, identityHeaders } from './identity.ts';

const token = { tokenId: 't1', expiresAt: 2_000_000_000 };
const user = { userId: 'u1', roles: ['USER' as const], ...token };
const admin = { userId: 'a1', roles: ['USER' as const, 'ADMIN' as const], ...token };

describe('authorize', () => {
  it('lets anyone call a public route', () => {
    expect(authorize('public', undefined)).toEqual({ allowed: true });
  });

  it('needs a token for user routes (401)', () => {
    expect(authorize('user', undefined)).toMatchObject({ allowed: false, status: 401 });
    expect(authorize('user', user)).toEqual({ allowed: true });
  });

  it('needs ADMIN for admin routes (401 anonymous, 403 signed in)', () => {
    expect(authorize('admin', undefined)).toMatchObject({ allowed: false, status: 401 });
    expect(authorize('admin', user)).toMatchObject({ allowed: false, status: 403 });
    expect(authorize('admin', admin)).toEqual({ allowed: true });
  });
});

describe('identityHeaders', () => {
  it('names the user and the roles', () => {
    expect(identityHeaders(admin)).toEqual({ 'x-user-id': 'a1', 'x-user-roles': 'USER,ADMIN' });
    expect(identityHeaders(undefined)).toEqual({});
  });
});

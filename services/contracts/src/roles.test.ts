import { describe, expect, it } from 'vitest';
import { isRole, rolesOf, staffRole } from './roles.ts';

const SHOW = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';

describe('roles', () => {
  it('knows USER, ADMIN and door staff bound to one show', () => {
    expect(isRole('USER')).toBe(true);
    expect(isRole('ADMIN')).toBe(true);
    expect(isRole(staffRole(SHOW))).toBe(true);
    expect(staffRole(SHOW.toUpperCase())).toBe(`STAFF:${SHOW}`);
  });

  it('refuses a bare STAFF, a staff role without a show id, and anything else', () => {
    for (const value of ['STAFF', 'STAFF:', 'STAFF:*', `STAFF:${SHOW},ADMIN`, 'admin', 'ROOT', 1, null]) {
      expect(isRole(value)).toBe(false);
    }
    expect(rolesOf(['USER', 'ROOT', staffRole(SHOW), 7])).toEqual(['USER', `STAFF:${SHOW}`]);
    expect(rolesOf('USER')).toEqual([]);
  });
});

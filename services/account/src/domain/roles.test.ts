import { describe, expect, it } from 'vitest';
import { parseAdminEmails, rolesFor } from './roles.ts';

describe('rolesFor', () => {
  const admins = parseAdminEmails(' Root@Example.com, ,ops@example.com');

  it('gives every user USER', () => {
    expect(rolesFor('ada@example.com', [], admins)).toEqual(['USER']);
  });

  it('grants ADMIN to listed addresses, case-insensitively', () => {
    expect(rolesFor('root@example.com', ['USER'], admins)).toEqual(['USER', 'ADMIN']);
  });

  it('keeps a stored ADMIN and ignores unknown stored roles', () => {
    expect(rolesFor('ada@example.com', ['ADMIN', 'SUPERUSER'], admins)).toEqual(['USER', 'ADMIN']);
  });

  it('keeps door staff roles, each bound to a show, and refuses a bare STAFF', () => {
    const show = '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10';
    expect(rolesFor('ada@example.com', [`STAFF:${show}`, 'STAFF', 'USER'], admins)).toEqual([
      'USER',
      `STAFF:${show}`,
    ]);
  });
});

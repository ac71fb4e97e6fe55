import { describe, expect, it } from 'vitest';
import { Email, Password, passwordProblem } from './credentials.ts';

describe('Email', () => {
  it('normalises case', () => {
    expect(Email.parse('Ada@Example.COM')).toBe('ada@example.com');
  });

  it.each([
    '',
    'ada',
    'ada@',
    '@example.com',
    'ädä@exämple.com',
    `${'a'.repeat(250)}@example.com`,
    ' ada@example.com',
  ])('refuses %j', (text) => {
    expect(Email.safeParse(text).success).toBe(false);
  });
});

describe('Password', () => {
  it('accepts a long passphrase with unicode and normalises it', () => {
    const composed = Password.parse('cafe\u0301 au lait, sans sucre');
    expect(composed).toBe('café au lait, sans sucre');
  });

  it('counts characters as the document does (code points), before normalising', () => {
    // 12 characters outside the BMP are 24 UTF-16 units: still 12 characters.
    expect(Password.safeParse('😀'.repeat(12)).success).toBe(true);
    expect(Password.safeParse('😀'.repeat(128)).success).toBe(true);
    expect(Password.safeParse('😀'.repeat(129)).success).toBe(false);
    expect(Password.safeParse('😀'.repeat(11)).success).toBe(false);
  });

  it('refuses short and huge passwords', () => {
    expect(Password.safeParse('short').success).toBe(false);
    expect(Password.safeParse('x'.repeat(129)).success).toBe(false);
    expect(Password.safeParse('x'.repeat(10_000)).success).toBe(false);
  });

  it('refuses the email as password', () => {
    expect(passwordProblem('ada.lovelace@example.com', 'Ada.Lovelace@example.com')).toBeDefined();
    expect(passwordProblem('ada@example.com', 'correct horse battery')).toBeUndefined();
  });
});

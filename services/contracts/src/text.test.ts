import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isWellFormedText, text, wellFormedText } from './text.ts';

describe('the shared text rule', () => {
  it('accepts any valid Unicode, emoji and scripts included', () => {
    for (const value of ['Night', 'Ночь 🎭 ليلة', 'Salle Pleyel – Paris', '']) {
      expect(isWellFormedText(value)).toBe(true);
    }
  });

  it('refuses NUL and unpaired surrogates wherever they are', () => {
    for (const value of ['a\0b', '\0', 'tok_\ud800', '\udfff x', 'x\ud83c']) {
      expect(isWellFormedText(value)).toBe(false);
    }
  });

  it('bounds the length, trims when asked, and says which rule failed', () => {
    const title = text({ max: 5, min: 1, trim: true });
    expect(title.parse('  abc  ')).toBe('abc');
    expect(title.safeParse('   ').error?.issues[0]?.message).toBe('must not be empty');
    expect(title.safeParse('abcdef').error?.issues[0]?.message).toBe('at most 5 characters');
    expect(title.safeParse('a\0').error?.issues[0]?.message).toMatch(/without NUL/);
    expect(text({ max: 10 }).safeParse('\ud800').success).toBe(false);
    const derived = z
      .string()
      .max(10)
      .refine(...wellFormedText);
    expect(derived.safeParse('ok').success).toBe(true);
    expect(derived.safeParse('no\0').success).toBe(false);
  });
});

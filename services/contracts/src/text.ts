// The one rule for text a client sends, whatever the field: valid Unicode (no unpaired surrogate,
// which no database or UTF-8 encoder can store faithfully), no NUL (Postgres refuses it in text),
// and a bound on its length. Each service's input schemas build their strings from here, so a bad
// string is a 422 naming its field, not a 500 from the database.
import { z } from 'zod';

export const WELL_FORMED_TEXT_MESSAGE = 'must be valid Unicode text without NUL characters';

export function isWellFormedText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\0');
}

export interface TextBounds {
  /** Most characters accepted (UTF-16 code units, as zod counts them). */
  max: number;
  /** Fewest characters (after trimming when `trim`). Default 0. */
  min?: number;
  /** Trim surrounding whitespace before the length checks. */
  trim?: boolean;
}

/** A string input under the shared rule: `text({ max: 200, min: 1, trim: true })`. */
export function text(bounds: TextBounds) {
  const min = bounds.min ?? 0;
  return (bounds.trim ? z.string().trim() : z.string())
    .max(bounds.max, `at most ${bounds.max} characters`)
    .min(min, min === 1 ? 'must not be empty' : `at least ${min} characters`)
    .refine(isWellFormedText, WELL_FORMED_TEXT_MESSAGE);
}

/**
 * The shared rule as a refinement, for a string schema built elsewhere (e.g. one derived from a
 * table by drizzle-zod): `schema.refine(...wellFormedText)`.
 */
export const wellFormedText = [isWellFormedText, WELL_FORMED_TEXT_MESSAGE] as const;

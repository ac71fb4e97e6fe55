// What a valid sign-up looks like. An email is compared case-insensitively (lower-cased); a password
// is normalised (NFKC) so the same characters typed on different keyboards match, and bounded above
// because argon2 would otherwise hash megabytes on request. The rules are the ones the OpenAPI
// document states: the email's pattern, and lengths in characters (code points, as JSON Schema
// counts them) of the text as sent.
import { z } from '@hono/zod-openapi';
import { WELL_FORMED_TEXT_MESSAGE, wellFormedText } from '@reservex/contracts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
export const EMAIL_MAX_LENGTH = 254;

/** zod's own email rule (an ASCII address with a dotted domain), written out so the document states it. */
export const EMAIL_PATTERN =
  /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;

export const Email = z
  .string()
  .max(EMAIL_MAX_LENGTH, `at most ${EMAIL_MAX_LENGTH} characters`)
  .regex(EMAIL_PATTERN, 'an email address such as ada@example.com')
  .transform((text) => text.toLowerCase())
  .openapi({ example: 'ada@example.com' });

/**
 * A string of `min`..`max` characters counted as code points, as the document's lengths are, under
 * the shared text rule (its NUL part stated as a pattern).
 */
export function textOfLength(min: number, max: number) {
  return (
    z
      .string()
      .max(max * 2, `at most ${max} characters`)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character the rule refuses.
      .regex(/^[^\u0000]*$/, WELL_FORMED_TEXT_MESSAGE)
      .refine(...wellFormedText)
      .refine((text) => {
        const length = [...text].length;
        return length >= min && length <= max;
      }, `${min} to ${max} characters`)
      .openapi({ minLength: min, maxLength: max })
  );
}

export const Password = textOfLength(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH)
  .transform((text) => text.normalize('NFKC'))
  .openapi({ example: 'correct horse battery staple' });

/** A password the account refuses even when long enough: the email itself. */
export function passwordProblem(email: string, password: string): string | undefined {
  if (password.toLowerCase() === email) return 'must not be the email address';
  return undefined;
}

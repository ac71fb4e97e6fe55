// What a valid sign-up looks like. An email is compared case-insensitively (trimmed, lower-cased);
// a password is normalised (NFKC) so the same characters typed on different keyboards match, and
// bounded above because argon2 would otherwise hash megabytes on request.
import { z } from '@hono/zod-openapi';
import { wellFormedText } from '@reservex/contracts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
export const EMAIL_MAX_LENGTH = 254;

export const Email = z
  .string()
  .max(EMAIL_MAX_LENGTH, `at most ${EMAIL_MAX_LENGTH} characters`)
  .refine(...wellFormedText)
  .transform((text) => text.trim().toLowerCase())
  .pipe(z.email('an email address such as ada@example.com'))
  .openapi({ example: 'ada@example.com' });

export const Password = z
  .string()
  .max(PASSWORD_MAX_LENGTH * 4, `at most ${PASSWORD_MAX_LENGTH} characters`)
  .refine(...wellFormedText)
  .transform((text) => text.normalize('NFKC'))
  .pipe(
    z
      .string()
      .min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`)
      .max(PASSWORD_MAX_LENGTH, `at most ${PASSWORD_MAX_LENGTH} characters`),
  )
  .openapi({ example: 'correct horse battery staple', minLength: PASSWORD_MIN_LENGTH });

/** A password the account refuses even when long enough: the email itself. */
export function passwordProblem(email: string, password: string): string | undefined {
  if (password.toLowerCase() === email) return 'must not be the email address';
  return undefined;
}

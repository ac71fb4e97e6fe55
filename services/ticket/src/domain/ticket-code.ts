// A ticket's door code and the signed payload its QR code carries.
// The code is 160 random bits (base64url): unguessable, so knowing one ticket says nothing about
// another. It is stored as is because the holder must be able to fetch the ticket again to show it;
// the table is private to this service and the scan matches it through a unique index.
// The QR payload is a compact JWS (HS256) over { ticket id, show, code }, so a door device can check
// offline that a code was issued by us before asking the service to admit it.
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

const CODE_BYTES = 20;

export function newTicketCode(): string {
  return randomBytes(CODE_BYTES).toString('base64url');
}

export const TicketCode = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'a ticket code (base64url)');

export type TicketPass = { ticketId: string; showId: string; code: string };

const claims = z.object({ sub: z.uuid(), show: z.uuid(), code: TicketCode, typ: z.literal('ticket') });

export function createTicketSigner(secret: string) {
  const key = new TextEncoder().encode(secret);
  return {
    /** Deterministic for a ticket (no iat): fetching a ticket twice shows the same QR code. */
    sign(pass: TicketPass): Promise<string> {
      return new SignJWT({ show: pass.showId, code: pass.code, typ: 'ticket' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(pass.ticketId)
        .sign(key);
    },
    async verify(token: string): Promise<TicketPass> {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
      const parsed = claims.parse(payload);
      return { ticketId: parsed.sub, showId: parsed.show, code: parsed.code };
    },
  };
}

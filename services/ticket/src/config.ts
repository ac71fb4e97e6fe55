import { baseConfigShape, databaseConfigShape } from '@reservex/platform/config';
import { z } from 'zod';

export const ticketConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /**
   * Key of the QR payload signature (HS256), at least 32 characters. Without it the process signs
   * with a random key of its own: QR payloads then verify only until it restarts.
   */
  TICKET_SIGNING_SECRET: z.string().min(32, 'a secret of at least 32 characters').optional(),
  /** Shows (comma-separated ids) whose tickets must not be issued: payment then ends in ticket.issue.failed. */
  TICKET_ISSUING_LOCKED_SHOWS: z.string().optional(),
};

// Whether an error says the database could not be reached, rather than that a statement was wrong:
// the connection was refused, lost or timed out, or the server is shutting down, starting or full.
// No imports, so the HTTP layer of a service without a database can ask it too.

/** Connection-level codes: the network's, postgres.js's own, and Postgres's (57P0x, 53300). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
]);

/**
 * True when `error`, or an error it was caused by (drizzle wraps the driver's error as its cause),
 * carries one of the codes above. Looks at most a few causes deep.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
    current = current.cause;
  }
  return false;
}

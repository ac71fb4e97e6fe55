// The sandbox's rules over its ledger. Each operation returns a result the HTTP layer maps to an
// answer; nothing here knows about HTTP. Idempotency works as a real provider's does: a key's first
// answer is recorded and returned again on every retry with the same parameters, and a key reused
// with other parameters is refused.
import { createHash, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { attempts, type ChargeRow, charges, type RefundRow, refunds, type schema } from './schema.ts';

export type LedgerDb = PostgresJsDatabase<typeof schema>;

export type ChargeParams = {
  amountMinor: number;
  currency: string;
  paymentToken: string;
  reference?: string | undefined;
};

export type RefundParams = { chargeId: string; amountMinor: number; currency: string };

/** Canonical hash of a request's parameters (the card token is hashed, never stored). */
export function fingerprint(params: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(params)
      .sort()
      .map((key) => [key, params[key] ?? null]),
  );
  return createHash('sha256').update(canonical).digest('hex');
}

export type Replay<Row> = { kind: 'fresh' } | { kind: 'replay'; row: Row } | { kind: 'key-reused'; row: Row };

function replayOf<Row extends { fingerprint: string }>(row: Row | undefined, print: string): Replay<Row> {
  if (!row) return { kind: 'fresh' };
  return row.fingerprint === print ? { kind: 'replay', row } : { kind: 'key-reused', row };
}

export async function earlierCharge(db: LedgerDb, key: string, params: ChargeParams) {
  const [row] = await db.select().from(charges).where(eq(charges.idempotencyKey, key));
  return replayOf(row, fingerprint(params));
}

/** Counts one failed attempt of `key` and returns how many there have been. */
export async function countFailure(db: LedgerDb, key: string): Promise<number> {
  const [row] = await db
    .insert(attempts)
    .values({ idempotencyKey: key, failures: 1 })
    .onConflictDoUpdate({ target: attempts.idempotencyKey, set: { failures: sql`${attempts.failures} + 1` } })
    .returning({ failures: attempts.failures });
  return row!.failures;
}

export type Outcome =
  | { status: 'captured' }
  | { status: 'declined'; reason: 'DECLINED' | 'INSUFFICIENT_FUNDS' };

/**
 * Records the answer to a charge under its key. Two requests with one key racing here both end with
 * the row that won the insert.
 */
export async function recordCharge(
  db: LedgerDb,
  key: string,
  params: ChargeParams,
  outcome: Outcome,
): Promise<Replay<ChargeRow> | { kind: 'recorded'; row: ChargeRow }> {
  const print = fingerprint(params);
  const [inserted] = await db
    .insert(charges)
    .values({
      id: `ch_${randomUUID()}`,
      idempotencyKey: key,
      fingerprint: print,
      reference: params.reference ?? null,
      amountMinor: params.amountMinor,
      currency: params.currency,
      status: outcome.status,
      declineReason: outcome.status === 'declined' ? outcome.reason : null,
    })
    .onConflictDoNothing({ target: charges.idempotencyKey })
    .returning();
  if (inserted) return { kind: 'recorded', row: inserted };
  const [winner] = await db.select().from(charges).where(eq(charges.idempotencyKey, key));
  return replayOf(winner, print);
}

export type RefundOutcome =
  | { kind: 'recorded' | 'replay'; row: RefundRow }
  | { kind: 'key-reused' }
  | { kind: 'no-such-charge' }
  | { kind: 'not-captured'; chargeId: string }
  | { kind: 'already-refunded'; chargeId: string }
  | { kind: 'exceeds-charge'; chargeId: string; capturedMinor: number; currency: string };

/** A refund of a capture, at most one per charge; the charge's row lock orders concurrent refunds. */
export function refund(db: LedgerDb, key: string, params: RefundParams): Promise<RefundOutcome> {
  const print = fingerprint(params);
  return db.transaction(async (tx) => {
    const [charge] = await tx.select().from(charges).where(eq(charges.id, params.chargeId)).for('update');
    const [earlier] = await tx.select().from(refunds).where(eq(refunds.idempotencyKey, key));
    if (earlier)
      return earlier.fingerprint === print ? { kind: 'replay', row: earlier } : { kind: 'key-reused' };
    if (!charge) return { kind: 'no-such-charge' };
    if (charge.status !== 'captured') return { kind: 'not-captured', chargeId: charge.id };
    const [refunded] = await tx.select().from(refunds).where(eq(refunds.chargeId, charge.id));
    if (refunded) return { kind: 'already-refunded', chargeId: charge.id };
    if (params.amountMinor > charge.amountMinor || params.currency !== charge.currency) {
      return {
        kind: 'exceeds-charge',
        chargeId: charge.id,
        capturedMinor: charge.amountMinor,
        currency: charge.currency,
      };
    }
    const [row] = await tx
      .insert(refunds)
      .values({
        id: `re_${randomUUID()}`,
        idempotencyKey: key,
        fingerprint: print,
        chargeId: charge.id,
        amountMinor: params.amountMinor,
        currency: params.currency,
      })
      .returning();
    return { kind: 'recorded', row: row! };
  });
}

export type LedgerEntry = ChargeRow & { refund: RefundRow | null };

/** The ledger of one caller reference (a reservation): every charge, with its refund. */
export async function ledgerOf(db: LedgerDb, reference: string): Promise<LedgerEntry[]> {
  const rows = await db
    .select({ charge: charges, refund: refunds })
    .from(charges)
    .leftJoin(refunds, eq(refunds.chargeId, charges.id))
    .where(eq(charges.reference, reference))
    .orderBy(charges.createdAt);
  return rows.map((row) => ({ ...row.charge, refund: row.refund }));
}

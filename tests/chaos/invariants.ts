// What must hold after a sale, however many faults it went through: checked on the books each
// service keeps (books.ts), each check with what broke it.
import type { Books } from './books.ts';

export interface Check {
  name: string;
  ok: boolean;
  /** What was counted, and the first violations. */
  detail: string;
}

export interface DeadLetterAccount {
  id: string;
  cloudEventId: string;
  topic: string | null;
  reservationId: string | null;
  reason: string;
  expected: boolean;
}

/** Dead letters a sale is allowed to produce (by refusal reason). None: every one is a finding. */
export const EXPECTED_DEAD_LETTER_REASONS: readonly RegExp[] = [];

const TERMINAL = new Set(['CONFIRMED', 'CANCELLED']);
const VALID = new Set(['valid', 'admitted']);

const some = (items: readonly string[], limit = 5) =>
  items.length === 0
    ? ''
    : `; e.g. ${items.slice(0, limit).join(', ')}${items.length > limit ? ` (${items.length} in all)` : ''}`;

function check(name: string, violations: string[], counted: string): Check {
  return { name, ok: violations.length === 0, detail: `${counted}${some(violations)}` };
}

/** Each dead letter with the reason its consumer gave (or that delivery gave up on it). */
export function accountDeadLetters(
  books: Pick<Books, 'deadLetters' | 'refusals'>,
  expected: readonly RegExp[] = EXPECTED_DEAD_LETTER_REASONS,
): DeadLetterAccount[] {
  return books.deadLetters.map((letter) => {
    const refusals = books.refusals.filter((r) => r.eventId === letter.cloudEventId);
    const reason =
      refusals.length > 0
        ? refusals.map((r) => `${r.consumer}: ${r.reason}`).join('; ')
        : 'no consumer refused it: delivery retries ran out';
    return {
      id: letter.id,
      cloudEventId: letter.cloudEventId,
      topic: letter.topic,
      reservationId: letter.reservationId,
      reason,
      expected: refusals.length > 0 && refusals.every((r) => expected.some((e) => e.test(r.reason))),
    };
  });
}

export function checkInvariants(
  books: Books,
  expectedDeadLetters: readonly RegExp[] = EXPECTED_DEAD_LETTER_REASONS,
): Check[] {
  const checks: Check[] = [];
  const byId = new Map(books.reservations.map((r) => [r.id, r]));

  const open = books.reservations.filter((r) => !TERMINAL.has(r.status)).map((r) => `${r.id} ${r.status}`);
  const reasonless = books.reservations
    .filter((r) => r.status === 'CANCELLED' && !r.reason)
    .map((r) => `${r.id} CANCELLED without a reason`);
  checks.push(
    check(
      'every reservation ended: CONFIRMED, or CANCELLED with a reason',
      [...open, ...reasonless],
      `${books.reservations.length} reservations`,
    ),
  );

  const unbalanced = books.stock
    .filter(
      (t) =>
        t.capacity !== t.available + t.held + t.sold ||
        t.available < 0 ||
        t.held < 0 ||
        t.sold < 0 ||
        t.held !== 0,
    )
    .map((t) => `${t.ticketTypeId}: ${t.capacity} ≠ ${t.available} + ${t.held} + ${t.sold} or held left`);
  checks.push(
    check(
      'per ticket type: capacity = available + held + sold, nothing left held',
      unbalanced,
      books.stock.map((t) => `${t.capacity} = ${t.available} + ${t.held} + ${t.sold}`).join('; '),
    ),
  );

  const refunded = new Set(books.refunds.map((r) => r.reservationId));
  const counts = books.stock.map((t) => {
    const valid = books.tickets.filter(
      (k) => k.ticketTypeId === t.ticketTypeId && VALID.has(k.status),
    ).length;
    const everCaptured = books.payments.filter(
      (p) => p.ticketTypeId === t.ticketTypeId && (p.status === 'captured' || p.status === 'refunded'),
    );
    const captured = everCaptured.reduce((n, p) => n + p.quantity, 0);
    const refundedTickets = everCaptured
      .filter((p) => refunded.has(p.reservationId))
      .reduce((n, p) => n + p.quantity, 0);
    return { t, valid, captured, refundedTickets };
  });
  checks.push(
    check(
      'per ticket type: sold = valid tickets = captured payments − refunds',
      counts
        .filter((c) => c.t.sold !== c.valid || c.valid !== c.captured - c.refundedTickets)
        .map(
          (c) =>
            `${c.t.ticketTypeId}: sold ${c.t.sold}, valid ${c.valid}, captured ${c.captured} − refunded ${c.refundedTickets}`,
        ),
      counts
        .map(
          (c) => `sold ${c.t.sold}, valid ${c.valid}, captured ${c.captured} − refunded ${c.refundedTickets}`,
        )
        .join('; '),
    ),
  );

  // The card provider's ledger, by reference (the reservation id).
  const ledger = new Map<string, { captures: number; net: number }>();
  for (const charge of books.charges) {
    if (!charge.reference || charge.status !== 'captured') continue;
    const entry = ledger.get(charge.reference) ?? { captures: 0, net: 0 };
    entry.captures++;
    entry.net += charge.amountMinor - charge.refundedMinor;
    ledger.set(charge.reference, entry);
  }
  const twice = [...ledger.entries()]
    .filter(([, e]) => e.captures > 1)
    .map(([id, e]) => `${id} captured ${e.captures} times (user ${byId.get(id)?.userId ?? '?'})`);
  checks.push(
    check(
      'no user charged twice for one reservation (card provider’s ledger)',
      twice,
      `${books.charges.length} charges, ${[...ledger.values()].filter((e) => e.captures > 0).length} reservations captured`,
    ),
  );

  const payments = new Map(books.payments.map((p) => [p.reservationId, p]));
  const keptMoney: string[] = [];
  for (const r of books.reservations) {
    const net = ledger.get(r.id)?.net ?? 0;
    const payment = payments.get(r.id);
    if (r.status === 'CONFIRMED') {
      if (payment?.status !== 'captured' || net !== payment.amountMinor)
        keptMoney.push(`${r.id} CONFIRMED: payment ${payment?.status ?? 'none'}, provider holds ${net}`);
    } else if (net !== 0) {
      keptMoney.push(
        `${r.id} ${r.status}: provider still holds ${net} (payment ${payment?.status ?? 'none'})`,
      );
    }
  }
  checks.push(
    check(
      'money: the provider holds exactly the confirmed reservations’ amounts, the rest refunded or never charged',
      keptMoney,
      `${books.reservations.filter((r) => r.status === 'CONFIRMED').length} confirmed`,
    ),
  );

  const validFor = new Map<string, string[]>();
  for (const ticket of books.tickets) {
    if (!VALID.has(ticket.status)) continue;
    validFor.set(ticket.reservationId, [...(validFor.get(ticket.reservationId) ?? []), ticket.id]);
  }
  const wrongTickets: string[] = [];
  for (const [reservationId, ids] of validFor) {
    const r = byId.get(reservationId);
    if (r?.status !== 'CONFIRMED')
      wrongTickets.push(`${ids.length} valid for ${reservationId} (${r?.status ?? 'unknown'})`);
  }
  for (const r of books.reservations.filter((x) => x.status === 'CONFIRMED')) {
    const n = validFor.get(r.id)?.length ?? 0;
    if (n !== r.quantity) wrongTickets.push(`${r.id} CONFIRMED for ${r.quantity} with ${n} valid`);
  }
  checks.push(
    check(
      'no valid ticket for a cancelled reservation; each confirmed one has its tickets',
      wrongTickets,
      `${books.tickets.filter((t) => VALID.has(t.status)).length} valid tickets`,
    ),
  );

  const details = new Map(books.details.map((d) => [d.reservationId, d]));
  const disagree: string[] = [];
  for (const r of books.reservations) {
    const d = details.get(r.id);
    if (!d) {
      disagree.push(`${r.id} missing from the read model`);
      continue;
    }
    if (d.status !== r.status) disagree.push(`${r.id}: read model ${d.status}, owner ${r.status}`);
    if (r.status === 'CONFIRMED') {
      const owned = [...(validFor.get(r.id) ?? [])].sort().join(',');
      if ([...d.ticketIds].sort().join(',') !== owned)
        disagree.push(`${r.id}: read model lists other tickets`);
    }
  }
  checks.push(
    check(
      'the read model agrees with the owners (status, tickets)',
      disagree,
      `${books.details.length} of ${books.reservations.length} reservations in the read model`,
    ),
  );

  const letters = accountDeadLetters(books, expectedDeadLetters);
  checks.push(
    check(
      'every dead letter accounted for',
      letters.filter((l) => !l.expected).map((l) => `${l.topic ?? '?'} ${l.cloudEventId}: ${l.reason}`),
      `${letters.length} dead letters`,
    ),
  );
  return checks;
}

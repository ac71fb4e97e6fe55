// The buyers of a chaos run, through the gateway only, as a browser would behave: join the waiting
// room, poll the position until admitted, reserve with the pass (one Idempotency-Key per buyer, kept
// across retries), some cancel, then follow the reservation until it has ended. A refused or failed
// call is retried while the platform is answering 5xx or not at all (faults are firing); a 4xx is an
// answer and ends that buyer's attempt.
import { randomUUID } from 'node:crypto';
import { mintAccessToken, type SigningKey } from '../e2e/edge/stack.ts';
import { pick, seededRandom } from './schedule.ts';

export const CARDS = ['tok_success', 'tok_declined', 'tok_insufficient_funds'] as const;

export interface BuyerPlan {
  index: number;
  userId: string;
  /** When the buyer arrives, in ms after the sale opened. */
  arriveAfterMs: number;
  ticketType: 0 | 1;
  quantity: number;
  card: (typeof CARDS)[number];
  /** Cancels this long after the reservation was placed; never when undefined. */
  cancelAfterMs: number | undefined;
}

export interface BuyerOutcome {
  plan: BuyerPlan;
  admittedAt?: number;
  placedAt?: number;
  reservationId?: string;
  /** A 4xx answer to the reservation request (status and problem type). */
  refused?: string;
  cancelAnswer?: number;
  status?: 'CONFIRMED' | 'CANCELLED';
  reason?: string | null;
  settledAt?: number;
  /** Calls that failed with 5xx or no answer and were retried. */
  retries: number;
  /** Why the buyer gave up (the run's deadline passed, or an unexpected answer). */
  gaveUp?: string;
}

/** Who buys what, when, with which card, and who cancels: from the seed alone. */
export function planBuyers(options: {
  seed: number;
  buyers: number;
  /** Buyers arrive over this window, from the opening. */
  arrivalMs: number;
}): BuyerPlan[] {
  const random = seededRandom(options.seed ^ 0x5eed);
  return Array.from({ length: options.buyers }, (_, index) => {
    const card = random() < 0.8 ? 'tok_success' : pick(random, CARDS.slice(1));
    return {
      index,
      userId: `chaos-buyer-${options.seed}-${index}`,
      arriveAfterMs: Math.round(random() * options.arrivalMs),
      ticketType: random() < 0.6 ? 0 : 1,
      quantity: random() < 0.8 ? 1 : 2,
      card,
      cancelAfterMs: random() < 0.08 ? Math.round(200 + random() * 3000) : undefined,
    };
  });
}

export interface Sale {
  gateway: string;
  showId: string;
  ticketTypeIds: [string, string];
  signingKey: SigningKey;
  /** Admissions per second, to pace the position polls. */
  admissionRate: number;
  /** No buyer acts after this (ms since epoch). */
  deadline: number;
  /** The sale's opening (ms since epoch). */
  openedAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: buyers read whatever JSON the API answered.
  body: any;
}

export class GaveUp extends Error {}

/**
 * One call, retried with back-off while the answer is 5xx or none (or 429), until the deadline.
 * Any other answer is returned.
 */
async function call(
  sale: Sale,
  outcome: BuyerOutcome,
  token: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  let delay = 300;
  for (;;) {
    if (Date.now() > sale.deadline) throw new GaveUp(`deadline passed during ${method} ${path}`);
    try {
      const response = await fetch(`${sale.gateway}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (response.status < 500 && response.status !== 429) {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON
        }
        return { status: response.status, body };
      }
    } catch {
      // No answer (the gateway or its upstream is down): retried below.
    }
    outcome.retries++;
    await sleep(delay);
    delay = Math.min(3000, delay * 1.5);
  }
}

export async function runBuyer(sale: Sale, plan: BuyerPlan): Promise<BuyerOutcome> {
  const outcome: BuyerOutcome = { plan, retries: 0 };
  try {
    await sleep(Math.max(0, sale.openedAt + plan.arriveAfterMs - Date.now()));
    const token = await mintAccessToken(sale.signingKey, { userId: plan.userId, ttlSeconds: 4 * 3600 });
    const queue = `/api/v1/queue/${sale.showId}`;
    let answer = await call(sale, outcome, token, 'POST', `${queue}/join`);
    if (answer.status !== 200) {
      outcome.gaveUp = `join answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
      return outcome;
    }
    // Polls paced by the position: the further back, the rarer.
    while (answer.body?.status !== 'admitted') {
      const position = Number(answer.body?.position ?? 1);
      await sleep(Math.min(10_000, Math.max(1000, (position / sale.admissionRate) * 500)));
      answer = await call(sale, outcome, token, 'GET', `${queue}/position`);
      if (answer.status === 404) {
        // The room lost the place (it must not): join again, and note it.
        outcome.retries++;
        answer = await call(sale, outcome, token, 'POST', `${queue}/join`);
      } else if (answer.status !== 200) {
        outcome.gaveUp = `position answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
        return outcome;
      }
    }
    outcome.admittedAt = Date.now();
    const pass = answer.body.passToken as string;

    const idempotencyKey = randomUUID();
    const place = () =>
      call(sale, outcome, token, 'POST', '/api/v1/reservations', {
        headers: { 'idempotency-key': idempotencyKey, 'x-pass-token': pass },
        body: {
          showId: sale.showId,
          ticketTypeId: sale.ticketTypeIds[plan.ticketType],
          quantity: plan.quantity,
          paymentMethod: { token: plan.card },
        },
      });
    let placed = await place();
    // The same key still being worked on (an earlier attempt that got no answer): ask again later
    // for its reply.
    while (placed.status === 409 && String(placed.body?.type ?? '').endsWith('/request-in-progress')) {
      outcome.retries++;
      await sleep(1000);
      placed = await place();
    }
    if (placed.status !== 201) {
      const type = String(placed.body?.type ?? '').replace(/^.*\/problems\//, '');
      outcome.refused = type
        ? `${placed.status} ${type}: ${String(placed.body?.detail ?? '').slice(0, 100)}`
        : `${placed.status} ${JSON.stringify(placed.body).slice(0, 120)}`;
      return outcome;
    }
    outcome.placedAt = Date.now();
    const id = placed.body.id as string;
    outcome.reservationId = id;

    if (plan.cancelAfterMs !== undefined) {
      await sleep(plan.cancelAfterMs);
      outcome.cancelAnswer = (
        await call(sale, outcome, token, 'POST', `/api/v1/reservations/${id}/cancel`)
      ).status;
    }
    for (;;) {
      const details = await call(sale, outcome, token, 'GET', `/api/v1/reservations/${id}`);
      // A 200 without the reservation in its body is asked again (a seed-1 run had two with an empty
      // body while processes were being killed; the buyers then gave up on a TypeError).
      if (
        details.status === 200 &&
        (details.body?.status === 'CONFIRMED' || details.body?.status === 'CANCELLED')
      ) {
        outcome.status = details.body.status;
        outcome.reason = details.body.failure?.reason ?? details.body.reason ?? null;
        outcome.settledAt = Date.now();
        return outcome;
      }
      await sleep(1000);
    }
  } catch (error) {
    outcome.gaveUp = error instanceof GaveUp ? error.message : String(error);
    return outcome;
  }
}

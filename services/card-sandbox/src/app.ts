// The sandbox's HTTP API, shaped like a card provider's test mode: every call carries the API key as
// a bearer token; charges and refunds carry an Idempotency-Key whose first answer is returned again on
// a retry (with `idempotent-replayed: true`) and which is refused when reused with other parameters.
import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRoute, z } from '@hono/zod-openapi';
import { createApp, problem, problemResponses, type ReadinessCheck } from '@reservex/platform/http';
import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import { behaviourOf, testCards } from './cards.ts';
import {
  countFailure,
  earlierCharge,
  type LedgerDb,
  type LedgerEntry,
  ledgerOf,
  type Outcome,
  recordCharge,
  refund,
} from './db/ledger.ts';
import type { ChargeRow, RefundRow } from './db/schema.ts';

export type CardSandboxOptions = {
  db: LedgerDb;
  apiKey: string;
  /** How long `tok_slow` takes to answer. */
  slowResponseMs: number;
  /** How many attempts of one `tok_processor_flaky` key fail before it captures. */
  flakyFailures: number;
  bodyLimitBytes?: number;
  readiness?: Record<string, ReadinessCheck>;
};

const idempotencyHeader = z.object({
  'idempotency-key': z.string().min(1).max(255).openapi({
    description: 'The caller’s key: a retry with the same key and parameters is answered as the first time.',
  }),
});

const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR');
const Amount = z.number().int().min(0).max(100_000_000);

const ChargeBody = z.object({
  amountMinor: Amount,
  currency: Currency,
  paymentToken: z
    .string()
    .min(1)
    .max(255)
    .openapi({
      description: `A test card: ${Object.entries(testCards)
        .map(([t, d]) => `\`${t}\` ${d}`)
        .join('; ')}.`,
    }),
  reference: z.string().min(1).max(255).optional().openapi({ description: 'The caller’s own reference.' }),
});

const Refund = z
  .object({
    id: z.string(),
    chargeId: z.string(),
    status: z.literal('refunded'),
    amountMinor: z.number().int(),
    currency: z.string(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Refund');

const Charge = z
  .object({
    id: z.string(),
    status: z.enum(['captured', 'declined']),
    declineReason: z.enum(['DECLINED', 'INSUFFICIENT_FUNDS']).nullable(),
    amountMinor: z.number().int(),
    currency: z.string(),
    reference: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Charge');

const LedgerCharge = Charge.extend({ refund: Refund.nullable() }).openapi('LedgerCharge');

const createCharge = createRoute({
  method: 'post',
  path: '/v1/charges',
  tags: ['charges'],
  summary: 'Charge a test card',
  description:
    'A decline is a recorded answer too (201, status `declined`); an unavailable processor is 503 and records nothing.',
  request: {
    headers: idempotencyHeader,
    body: { content: { 'application/json': { schema: ChargeBody } }, required: true },
  },
  responses: {
    201: {
      description: 'The charge (the first one, on a replay)',
      content: { 'application/json': { schema: Charge } },
    },
    ...problemResponses(401, 409, 413, 415, 422, 503),
  },
});

const createRefund = createRoute({
  method: 'post',
  path: '/v1/refunds',
  tags: ['refunds'],
  summary: 'Refund a captured charge (at most once)',
  request: {
    headers: idempotencyHeader,
    body: {
      content: {
        'application/json': {
          schema: z.object({ chargeId: z.string().min(1).max(255), amountMinor: Amount, currency: Currency }),
        },
      },
      required: true,
    },
  },
  responses: {
    201: {
      description: 'The refund (the first one, on a replay)',
      content: { 'application/json': { schema: Refund } },
    },
    ...problemResponses(401, 404, 409, 413, 415, 422),
  },
});

const listCharges = createRoute({
  method: 'get',
  path: '/v1/charges',
  tags: ['charges'],
  summary: 'The ledger of one reference: every charge recorded for it, with its refund',
  request: { query: z.object({ reference: z.string().min(1).max(255) }) },
  responses: {
    200: {
      description: 'Charges in the order they were recorded',
      content: { 'application/json': { schema: z.object({ items: z.array(LedgerCharge) }) } },
    },
    ...problemResponses(401, 422),
  },
});

function chargeBody(row: ChargeRow) {
  return {
    id: row.id,
    status: row.status,
    declineReason: row.declineReason,
    amountMinor: row.amountMinor,
    currency: row.currency,
    reference: row.reference,
    createdAt: row.createdAt.toISOString(),
  };
}

function refundBody(row: RefundRow) {
  return {
    id: row.id,
    chargeId: row.chargeId,
    status: 'refunded' as const,
    amountMinor: row.amountMinor,
    currency: row.currency,
    createdAt: row.createdAt.toISOString(),
  };
}

function ledgerBody(entry: LedgerEntry) {
  return { ...chargeBody(entry), refund: entry.refund ? refundBody(entry.refund) : null };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function keyReused(key: string): never {
  problem(409, 'idempotency-key-reused', `idempotency key ${key} was used with other parameters`);
}

export function createCardSandboxApp(options: CardSandboxOptions) {
  const app = createApp<BlankEnv>({
    serviceName: 'card-sandbox',
    description: 'A card provider’s test mode: test cards, idempotency keys, a durable ledger.',
    bodyLimitBytes: options.bodyLimitBytes ?? 16_384,
    readiness: options.readiness ?? {},
  });
  const expected = digest(options.apiKey);

  // Every /v1 call proves it holds the API key; the comparison takes the same time whatever it holds.
  app.use('/v1/*', async (c: Context, next) => {
    const presented = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      problem(401, 'unauthorized', 'an API key is required as `Authorization: Bearer <key>`', undefined, {
        headers: { 'www-authenticate': 'Bearer realm="card-sandbox"' },
      });
    }
    await next();
  });

  return app
    .openapi(createCharge, async (c) => {
      const key = c.req.valid('header')['idempotency-key'];
      const params = c.req.valid('json');
      const earlier = await earlierCharge(options.db, key, params);
      if (earlier.kind === 'key-reused') keyReused(key);
      if (earlier.kind === 'replay') {
        c.header('idempotent-replayed', 'true');
        return c.json(chargeBody(earlier.row), 201);
      }

      const behaviour = behaviourOf(params.paymentToken);
      let outcome: Outcome;
      switch (behaviour.kind) {
        case 'unavailable':
          problem(503, 'service-unavailable', 'the card processor is unavailable (test card)');
          break;
        case 'flaky': {
          const failures = await countFailure(options.db, key);
          if (failures <= options.flakyFailures) {
            problem(503, 'service-unavailable', `the card processor is unavailable (attempt ${failures})`);
          }
          outcome = { status: 'captured' };
          break;
        }
        case 'slow':
          // The answer is slow, not the bookkeeping: a caller that gives up still finds the charge
          // under its key when it asks again, as with a real provider.
          await sleep(options.slowResponseMs);
          outcome = { status: 'captured' };
          break;
        case 'declined':
          outcome = { status: 'declined', reason: behaviour.reason };
          break;
        case 'captured':
          outcome = { status: 'captured' };
          break;
      }
      const recorded = await recordCharge(options.db, key, params, outcome);
      if (recorded.kind === 'key-reused') keyReused(key);
      if (recorded.kind === 'fresh') throw new Error(`charge ${key} neither recorded nor found`);
      if (recorded.kind === 'replay') c.header('idempotent-replayed', 'true');
      return c.json(chargeBody(recorded.row), 201);
    })
    .openapi(createRefund, async (c) => {
      const key = c.req.valid('header')['idempotency-key'];
      const params = c.req.valid('json');
      const outcome = await refund(options.db, key, params);
      switch (outcome.kind) {
        case 'replay':
          c.header('idempotent-replayed', 'true');
          return c.json(refundBody(outcome.row), 201);
        case 'recorded':
          return c.json(refundBody(outcome.row), 201);
        case 'key-reused':
          return keyReused(key);
        case 'no-such-charge':
          return problem(404, 'not-found', `no charge ${params.chargeId}`);
        case 'not-captured':
          return problem(409, 'charge-not-captured', `charge ${outcome.chargeId} was declined, not captured`);
        case 'already-refunded':
          return problem(409, 'charge-already-refunded', `charge ${outcome.chargeId} is already refunded`);
        case 'exceeds-charge':
          return problem(
            422,
            'refund-exceeds-charge',
            `a refund of charge ${outcome.chargeId} is at most ${outcome.capturedMinor} ${outcome.currency}`,
          );
      }
    })
    .openapi(listCharges, async (c) => {
      const { reference } = c.req.valid('query');
      return c.json({ items: (await ledgerOf(options.db, reference)).map(ledgerBody) }, 200);
    });
}

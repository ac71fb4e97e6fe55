// The payment service's HTTP API: a buyer reads the payment of their own reservation.
import { createRoute, z } from '@hono/zod-openapi';
import { callerOf, createApp, problem, problemResponses, type ReadinessCheck } from '@reservex/platform/http';
import type { BlankEnv } from 'hono/types';
import { findPayment, type PaymentDb, type PaymentView } from './db/payments.ts';

const Payment = z
  .object({
    paymentId: z.uuid(),
    reservationId: z.uuid(),
    status: z.enum(['captured', 'failed', 'refunded']),
    amountMinor: z.number().int().openapi({ description: 'Amount in the minor unit of the currency.' }),
    currency: z.string().openapi({ example: 'EUR' }),
    failureReason: z.enum(['DECLINED', 'INSUFFICIENT_FUNDS', 'PROCESSOR_ERROR']).nullable(),
    createdAt: z.iso.datetime(),
    refund: z
      .object({
        refundId: z.uuid(),
        amountMinor: z.number().int(),
        currency: z.string(),
        createdAt: z.iso.datetime(),
      })
      .nullable(),
  })
  .openapi('Payment');

const getPayment = createRoute({
  method: 'get',
  path: '/v1/payments/{reservationId}',
  tags: ['payments'],
  summary: 'The payment of one of my reservations',
  description: 'Reads the caller from `x-user-id` (set by the gateway only). Another user’s payment is 404.',
  request: { params: z.object({ reservationId: z.uuid() }) },
  responses: {
    200: { description: 'The payment', content: { 'application/json': { schema: Payment } } },
    ...problemResponses(401, 404, 422),
  },
});

export function paymentBody(payment: PaymentView): z.infer<typeof Payment> {
  return {
    paymentId: payment.id,
    reservationId: payment.reservationId,
    status: payment.status,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    failureReason: payment.failureReason,
    createdAt: payment.createdAt.toISOString(),
    refund: payment.refund
      ? {
          refundId: payment.refund.id,
          amountMinor: payment.refund.amountMinor,
          currency: payment.refund.currency,
          createdAt: payment.refund.createdAt.toISOString(),
        }
      : null,
  };
}

/** The app, typed with its routes (a typed test client reads them). */
export function createPaymentApp(deps: {
  db: PaymentDb;
  bodyLimitBytes: number;
  readiness: Record<string, ReadinessCheck>;
}) {
  const app = createApp<BlankEnv>({
    serviceName: 'payment',
    description:
      'Payments of reservations: charged once stock is held, refunded when the reservation is cancelled.',
    bodyLimitBytes: deps.bodyLimitBytes,
    readiness: deps.readiness,
  });

  return app.openapi(getPayment, async (c) => {
    const caller = callerOf(c);
    const { reservationId } = c.req.valid('param');
    const payment = await findPayment(deps.db, reservationId);
    // Someone else's payment is as invisible as one that does not exist.
    if (!payment || payment.userId !== caller.userId)
      problem(404, 'not-found', `no payment for reservation ${reservationId}`);
    return c.json(paymentBody(payment), 200);
  });
}

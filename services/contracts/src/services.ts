// Which service publishes and consumes which topic. The Helm chart's KafkaTopics and Component scopes,
// and each service's subscriptions, are checked against this table.
import type { Topic } from './events.ts';

export const appIds = [
  'gateway',
  'account',
  'queue',
  'inventory',
  'reservation',
  'payment',
  'ticket',
  'query',
] as const;
export type AppId = (typeof appIds)[number];

/**
 * Services that answer some requests with server-sent events through service invocation (the
 * gateway's stream routes): a stream outlives any ordinary invocation timeout, so their sidecar
 * policy gives invocation a timeout longer than their longest stream.
 */
export const streamingApps = ['queue', 'query'] as const satisfies readonly AppId[];

export const topology = {
  gateway: { publishes: [], consumes: [] },
  account: { publishes: [], consumes: [] },
  queue: { publishes: [], consumes: ['reservation.confirmed', 'reservation.cancelled'] },
  inventory: {
    publishes: ['stock.reserved', 'stock.failed', 'stock.released'],
    consumes: ['reservation.created', 'reservation.cancelled', 'reservation.confirmed'],
  },
  reservation: {
    publishes: ['reservation.created', 'reservation.confirmed', 'reservation.cancelled'],
    consumes: [
      'stock.reserved',
      'stock.failed',
      'payment.completed',
      'payment.failed',
      'ticket.issued',
      'ticket.issue.failed',
    ],
  },
  payment: {
    publishes: ['payment.completed', 'payment.failed', 'payment.refunded'],
    consumes: ['stock.reserved', 'reservation.cancelled'],
  },
  ticket: {
    publishes: ['ticket.issued', 'ticket.issue.failed', 'ticket.voided'],
    consumes: ['payment.completed', 'reservation.cancelled'],
  },
  query: {
    // Publishes nothing: an operator's dead-letter replay asks the topic's owner to publish its own
    // event again from its outbox (see REPLAY_PATH in access.ts).
    publishes: [],
    consumes: [
      'reservation.created',
      'reservation.confirmed',
      'reservation.cancelled',
      'stock.reserved',
      'stock.failed',
      'stock.released',
      'payment.completed',
      'payment.failed',
      'payment.refunded',
      'ticket.issued',
      'ticket.issue.failed',
      'ticket.voided',
    ],
  },
} as const satisfies Record<AppId, { publishes: readonly Topic[]; consumes: readonly Topic[] }>;

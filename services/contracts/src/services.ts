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
 * What runs next to the services without a Dapr sidecar: stand-ins for what lies outside ReserveX.
 * The card sandbox is a card provider's test mode, reached by payment over plain HTTP as a real
 * provider would be. No app id: no invocation, no events, no access control of its own.
 */
export const sidecarless = ['card-sandbox'] as const;
export type Sidecarless = (typeof sidecarless)[number];
/** Everything `defineService` declares and the local stack, the images and the chart run. */
export type ServiceName = AppId | Sidecarless;

export function isAppId(name: string): name is AppId {
  return (appIds as readonly string[]).includes(name);
}

/**
 * What each service needs around it, read by the services' declarations (platform's defineService
 * requires a database schema exactly where this says `database`), by the local stack and by the
 * chart and image checks. A service with a database also has a `migrate` command.
 */
export const deployments = {
  gateway: { database: false, redis: true, commands: {} },
  account: { database: true, redis: false, commands: {} },
  queue: { database: true, redis: true, commands: {} },
  inventory: { database: true, redis: false, commands: {} },
  reservation: { database: true, redis: false, commands: {} },
  payment: { database: true, redis: false, commands: {} },
  ticket: { database: true, redis: false, commands: {} },
  query: {
    database: true,
    redis: false,
    // The rebuild is the service itself with QUERY_MODE=rebuild (the chart's queryRebuild Job).
    commands: { 'replay-dead-letters': 'services/query/src/commands/replay-dead-letters.ts' },
  },
  // Its ledger is its own database, migrated at start-up (the chart runs no migration Job for it).
  'card-sandbox': { database: true, redis: false, commands: {} },
} as const satisfies Record<ServiceName, Deployment>;

export type Deployment = {
  /** Owns a Postgres database (DATABASE_URL) and migrates it. */
  database: boolean;
  /** Uses Redis directly (REDIS_URL) for what Dapr cannot do: sorted sets, Lua rate limiting. */
  redis: boolean;
  /** Operator commands besides the service and its migration: name → script, from the repository root. */
  commands: Record<string, string>;
};

/** The service's entry point, from the repository root. */
export function mainOf(name: ServiceName): string {
  return `services/${name}/src/main.ts`;
}

/** How the service's migrations are applied and nothing else: its entry point with `migrate`. */
export function migrateCommandOf(name: ServiceName): readonly string[] {
  return ['node', mainOf(name), 'migrate'];
}

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

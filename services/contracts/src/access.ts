// Who may call whom, and who may publish and consume which topic. Rendered into each callee's Dapr
// `accessControl` (default deny) and into the pub/sub Component's scopes, locally and in the chart;
// both renderings are checked against these tables.
import { DEAD_LETTER_TOPIC, type Topic } from './events.ts';
import { type AppId, appIds, topology } from './services.ts';

export type InvokeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One operation of a callee, as Dapr's access control matches it: the invoked path with `*` standing
 * for exactly one segment (Dapr compares paths in lower case).
 */
export type Operation = { method: InvokeMethod; path: string };

export type Invocation = { caller: AppId; callee: AppId; operations: readonly Operation[] };

/** The only caller of user-facing routes: it authenticated the user and speaks for them. */
export const USER_FACING_CALLER = 'gateway' satisfies AppId;

/**
 * Where a topic's owner takes back one of its own events for republishing (dead-letter replay): it
 * publishes the event again from its outbox, so only the owner ever publishes its topics.
 */
export const REPLAY_PATH = '/internal/replay';

const op = (method: InvokeMethod, path: string): Operation => ({ method, path });
/** Every service documents its own routes; the gateway merges them into the public document. */
const openapi = op('GET', '/openapi.json');

/**
 * The whole table. The gateway's rows are its public routes (without the `/api` prefix), each
 * forwarded to its owning service; a service test checks them against the gateway's route list.
 */
export const invocations: readonly Invocation[] = [
  {
    caller: 'gateway',
    callee: 'account',
    operations: [
      op('POST', '/v1/auth/signup'),
      op('POST', '/v1/auth/login'),
      op('POST', '/v1/auth/refresh'),
      op('POST', '/v1/auth/logout'),
      op('PUT', '/v1/admin/staff/*/shows/*'),
      op('DELETE', '/v1/admin/staff/*/shows/*'),
      // The signing keys the gateway verifies access tokens with.
      op('GET', '/.well-known/jwks.json'),
      openapi,
    ],
  },
  {
    caller: 'gateway',
    callee: 'inventory',
    operations: [
      op('GET', '/v1/shows'),
      op('GET', '/v1/shows/*'),
      op('POST', '/v1/shows'),
      op('PATCH', '/v1/shows/*'),
      op('POST', '/v1/shows/*/ticket-types'),
      op('PATCH', '/v1/shows/*/ticket-types/*'),
      openapi,
    ],
  },
  {
    caller: 'gateway',
    callee: 'queue',
    operations: [
      op('POST', '/v1/queue/*/join'),
      op('GET', '/v1/queue/*/position'),
      op('GET', '/v1/queue/*/events'),
      openapi,
    ],
  },
  {
    caller: 'gateway',
    callee: 'reservation',
    operations: [op('POST', '/v1/reservations'), op('POST', '/v1/reservations/*/cancel'), openapi],
  },
  {
    caller: 'gateway',
    callee: 'query',
    operations: [
      op('GET', '/v1/reservations'),
      op('GET', '/v1/reservations/*'),
      op('GET', '/v1/reservations/*/events'),
      op('GET', '/v1/admin/dead-letters'),
      op('POST', '/v1/admin/dead-letters/*/replay'),
      openapi,
    ],
  },
  {
    caller: 'gateway',
    callee: 'ticket',
    operations: [op('GET', '/v1/tickets/*'), op('POST', '/v1/tickets/scan'), openapi],
  },
  { caller: 'gateway', callee: 'payment', operations: [op('GET', '/v1/payments/*'), openapi] },
  // The booking checks the show and its ticket type in the catalogue before the saga starts.
  { caller: 'reservation', callee: 'inventory', operations: [op('GET', '/v1/shows/*')] },
  // The sale window of a show, read before a buyer joins its waiting room.
  { caller: 'queue', callee: 'inventory', operations: [op('GET', '/v1/shows/*')] },
  // Dead-letter replay: query asks the owner of the topic to publish its own event again.
  ...(['inventory', 'reservation', 'payment', 'ticket'] as const).map((callee) => ({
    caller: 'query' as const,
    callee,
    operations: [op('POST', REPLAY_PATH)],
  })),
];

/** An allowed path and its verbs, the shape of a Dapr access-control operation. */
export type AllowedOperation = { name: string; httpVerb: InvokeMethod[] };

/** The invocations an app accepts, by caller, one entry per path: its sidecar's access control. */
export function callersOf(callee: AppId): { caller: AppId; operations: AllowedOperation[] }[] {
  return invocations
    .filter((row) => row.callee === callee)
    .map((row) => {
      const verbs = new Map<string, InvokeMethod[]>();
      for (const o of row.operations) verbs.set(o.path, [...(verbs.get(o.path) ?? []), o.method]);
      return { caller: row.caller, operations: [...verbs].map(([name, httpVerb]) => ({ name, httpVerb })) };
    });
}

/** The one app allowed to publish each topic: the topology's publisher. */
export function ownerOf(topic: Topic): AppId {
  const owner = appIds.find((app) => (topology[app].publishes as readonly string[]).includes(topic));
  if (!owner) throw new Error(`no service publishes ${topic}`);
  return owner;
}

/**
 * Topics an app may publish: its own, and the dead-letter topic if it consumes anything (its sidecar
 * dead-letters undeliverable events there, and that publish is scope-checked too).
 */
export function publishableBy(app: AppId): string[] {
  return [...topology[app].publishes, ...(topology[app].consumes.length > 0 ? [DEAD_LETTER_TOPIC] : [])];
}

/** Topics an app may subscribe to. */
export function subscribableBy(app: AppId): string[] {
  return [...topology[app].consumes, ...(readsDeadLetters(app) ? [DEAD_LETTER_TOPIC] : [])];
}

/**
 * The services that subscribe to the dead-letter topic: query lists dead letters for operators (and
 * asks owners to replay them); reservation ends the saga of an event no consumer could take
 * (CANCELLED, REJECTED_EVENT). A service declaring a dead-letter handler must be listed here.
 */
export const deadLetterReaders = ['query', 'reservation'] as const satisfies readonly AppId[];

export function readsDeadLetters(app: AppId): boolean {
  return (deadLetterReaders as readonly AppId[]).includes(app);
}

/** Every topic the pub/sub carries: the saga's topics and the dead-letter topic. */
export function protectedTopics(): string[] {
  return [...new Set(appIds.flatMap((app) => [...publishableBy(app), ...subscribableBy(app)]))].sort();
}

/**
 * Both tables as one plain document, for renderers that cannot import TypeScript (the Helm chart
 * reads it from charts/reservex/files/access.json; a chart test checks the file equals this).
 */
export function accessDocument() {
  return {
    accessControl: Object.fromEntries(appIds.map((callee) => [callee, callersOf(callee)])),
    publishes: Object.fromEntries(appIds.map((app) => [app, publishableBy(app)])),
    subscribes: Object.fromEntries(appIds.map((app) => [app, subscribableBy(app)])),
    protectedTopics: protectedTopics(),
  };
}

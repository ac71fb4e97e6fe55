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
      // A show's admission progress, which the gateway follows once per show for its waiting users.
      op('GET', '/v1/queue/*/progress'),
      openapi,
    ],
  },
  {
    caller: 'gateway',
    callee: 'reservation',
    operations: [
      op('POST', '/v1/reservations'),
      op('POST', '/v1/reservations/*/cancel'),
      // A user's own reservation the read model has not seen yet: the gateway asks its owner.
      op('GET', '/v1/reservations/*'),
      openapi,
    ],
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

const segments = (path: string) => path.split('/').slice(1);
/** The literal segments of a path before its first wildcard. */
const literalPrefix = (path: string) => {
  const parts = segments(path);
  const wildcard = parts.findIndex((part) => part.startsWith('*'));
  return wildcard === -1 ? parts : parts.slice(0, wildcard);
};
const isPrefixOf = (prefix: string[], parts: string[]) =>
  prefix.length <= parts.length && prefix.every((part, i) => parts[i] === part);

/**
 * The table's operations in the form Dapr's access control matches correctly. Dapr keeps operation
 * names in a trie that matches by prefix: an operation with verbs on a node answers for every path
 * below it, a `*` segment matches only at the end of a path, and `/**` matches the rest. So a path
 * with a `*` before its end widens to its literal prefix plus `/**`, and operations whose literal
 * prefixes nest merge into the shorter one's `/**` with the union of their verbs (otherwise one would
 * shadow the other and refuse what the table allows). The widening only ever adds paths the callee
 * does not serve; operations of non-nesting paths stay exact.
 */
export function daprOperations(operations: readonly Operation[]): AllowedOperation[] {
  let names = new Map<string, Set<InvokeMethod>>();
  const add = (into: Map<string, Set<InvokeMethod>>, name: string, verbs: Iterable<InvokeMethod>) => {
    const set = into.get(name) ?? new Set<InvokeMethod>();
    for (const verb of verbs) set.add(verb);
    into.set(name, set);
  };
  for (const o of operations) {
    const parts = segments(o.path);
    const interior = parts.slice(0, -1).includes('*');
    add(names, interior ? `/${[...literalPrefix(o.path), '**'].join('/')}` : o.path, [o.method]);
  }
  for (let merged = true; merged; ) {
    merged = false;
    const list = [...names.keys()];
    outer: for (const a of list) {
      for (const b of list) {
        if (a === b || !isPrefixOf(literalPrefix(a), literalPrefix(b))) continue;
        const next = new Map(names);
        next.delete(a);
        next.delete(b);
        add(next, `/${[...literalPrefix(a), '**'].join('/')}`, [...names.get(a)!, ...names.get(b)!]);
        names = next;
        merged = true;
        break outer;
      }
    }
  }
  const order: readonly InvokeMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return [...names]
    .map(([name, verbs]) => ({ name, httpVerb: order.filter((verb) => verbs.has(verb)) }))
    .sort((x, y) => x.name.localeCompare(y.name));
}

/** The invocations an app accepts, by caller: its sidecar's access control. */
export function callersOf(callee: AppId): { caller: AppId; operations: AllowedOperation[] }[] {
  return invocations
    .filter((row) => row.callee === callee)
    .map((row) => ({ caller: row.caller, operations: daprOperations(row.operations) }));
}

/**
 * Every call `callee`'s access control must allow and nothing else, one `caller VERB operation` line
 * each (operations in Dapr's form), sorted: what a rendering of the table is checked against.
 */
export function allowedCalls(callee: AppId): string[] {
  return callersOf(callee)
    .flatMap(({ caller, operations }) =>
      operations.flatMap((o) => o.httpVerb.map((verb) => `${caller} ${verb} ${o.name}`)),
    )
    .sort();
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
/**
 * Whose public keys `app` must trust: the owners of the topics it consumes, and every publisher when
 * it reads the dead letters (which may be of any topic).
 */
export function trustedOwnersOf(app: AppId): AppId[] {
  const topics: readonly Topic[] = readsDeadLetters(app)
    ? appIds.flatMap((id) => topology[id].publishes)
    : topology[app].consumes;
  return [...new Set(topics.map(ownerOf))];
}

export function accessDocument() {
  return {
    accessControl: Object.fromEntries(appIds.map((callee) => [callee, callersOf(callee)])),
    publishes: Object.fromEntries(appIds.map((app) => [app, publishableBy(app)])),
    subscribes: Object.fromEntries(appIds.map((app) => [app, subscribableBy(app)])),
    protectedTopics: protectedTopics(),
    // Who signs its events (publishes a topic) and whose public keys each service trusts.
    eventKeys: {
      signers: appIds.filter((app) => topology[app].publishes.length > 0),
      trusts: Object.fromEntries(appIds.map((app) => [app, trustedOwnersOf(app)])),
    },
  };
}

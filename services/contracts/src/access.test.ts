import { describe, expect, it } from 'vitest';
import {
  callersOf,
  daprOperations,
  invocations,
  ownerOf,
  protectedTopics,
  publishableBy,
  REPLAY_PATH,
  subscribableBy,
  USER_FACING_CALLER,
} from './access.ts';
import { DEAD_LETTER_TOPIC, topics } from './events.ts';
import { appIds, topology } from './services.ts';

describe('invocation table', () => {
  it('names each caller/callee pair once, with distinct operations in Dapr’s path form', () => {
    const pairs = invocations.map((row) => `${row.caller}->${row.callee}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const row of invocations) {
      expect(row.caller).not.toBe(row.callee);
      const keys = row.operations.map((o) => `${o.method} ${o.path}`);
      expect(new Set(keys).size, `${row.caller}->${row.callee}`).toBe(keys.length);
      for (const o of row.operations) {
        // Dapr lower-cases HTTP operation names before matching; `*` is one whole segment.
        expect(o.path).toMatch(/^(\/([a-z0-9._-]+|\*))+$/);
      }
    }
  });

  it('lets only the gateway call user-facing routes (/v1/... other than the replay hook)', () => {
    for (const row of invocations) {
      if (row.caller === USER_FACING_CALLER) continue;
      for (const o of row.operations) {
        // A show of the catalogue is public (no user needed): reservation and queue read it.
        const catalogueRead = row.callee === 'inventory' && o.method === 'GET' && o.path === '/v1/shows/*';
        const userFacing = o.path.startsWith('/v1/') && !catalogueRead;
        expect(userFacing, `${row.caller} -> ${row.callee} ${o.method} ${o.path}`).toBe(false);
      }
    }
    expect(callersOf('gateway')).toEqual([]);
  });

  it('lets query ask every owner of a topic, and only owners, to replay', () => {
    const replayCallees = invocations
      .filter((row) => row.operations.some((o) => o.path === REPLAY_PATH))
      .map((row) => row.callee)
      .sort();
    const owners = appIds.filter((app) => topology[app].publishes.length > 0).sort();
    expect(replayCallees).toEqual(owners);
  });
});

describe('Dapr access-control rendering', () => {
  const literal = (name: string) =>
    name
      .split('/')
      .slice(1)
      .filter((part) => !part.startsWith('*'));
  const covers = (name: string, path: string) => {
    const [rule, target] = [name.split('/'), path.split('/')];
    if (rule.at(-1) === '**') return rule.slice(0, -1).every((part, i) => part === target[i]);
    return rule.length === target.length && rule.every((part, i) => part === '*' || part === target[i]);
  };

  it('keeps every allowed operation, by a name no other name of the same caller nests in or under', () => {
    for (const row of invocations) {
      const rendered = daprOperations(row.operations);
      for (const o of row.operations) {
        const matching = rendered.filter((r) => covers(r.name, o.path));
        expect(matching, `${row.caller}->${row.callee} ${o.method} ${o.path}`).toHaveLength(1);
        expect(matching[0]!.httpVerb).toContain(o.method);
      }
      for (const a of rendered)
        for (const b of rendered) {
          if (a === b) continue;
          const [pa, pb] = [literal(a.name), literal(b.name)];
          expect(
            pa.every((part, i) => pb[i] === part) && pa.length <= pb.length,
            `${a.name} / ${b.name}`,
          ).toBe(false);
        }
    }
  });

  it('widens only paths with a wildcard before their end, and keeps exact ones exact', () => {
    expect(daprOperations([{ method: 'GET', path: '/v1/shows/*' }])).toEqual([
      { name: '/v1/shows/*', httpVerb: ['GET'] },
    ]);
    expect(
      daprOperations([
        { method: 'POST', path: '/v1/reservations' },
        { method: 'POST', path: '/v1/reservations/*/cancel' },
      ]),
    ).toEqual([{ name: '/v1/reservations/**', httpVerb: ['POST'] }]);
    expect(
      daprOperations([
        { method: 'POST', path: '/v1/auth/login' },
        { method: 'POST', path: '/v1/auth/signup' },
      ]).map((o) => o.name),
    ).toEqual(['/v1/auth/login', '/v1/auth/signup']);
  });
});

describe('topic scopes', () => {
  it('gives each topic exactly one owner, the topology’s publisher', () => {
    for (const topic of topics) {
      const publishers = appIds.filter((app) => publishableBy(app).includes(topic));
      expect(publishers, topic).toEqual([ownerOf(topic)]);
    }
  });

  it('lets every consumer publish the dead-letter topic and only its readers (query, reservation) read it', () => {
    for (const app of appIds) {
      expect(publishableBy(app).includes(DEAD_LETTER_TOPIC)).toBe(topology[app].consumes.length > 0);
      expect(subscribableBy(app).includes(DEAD_LETTER_TOPIC)).toBe(app === 'query' || app === 'reservation');
    }
  });

  it('protects every topic, dead letters included', () => {
    expect(protectedTopics()).toEqual([...topics, DEAD_LETTER_TOPIC].sort());
  });
});

import { describe, expect, it } from 'vitest';
import {
  callersOf,
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

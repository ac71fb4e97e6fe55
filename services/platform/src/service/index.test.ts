// What a declaration may consume is the contracts' topology, checked by the compiler: the
// `@ts-expect-error` lines below fail `npm run typecheck` the day such a declaration compiles.

import { OpenAPIHono } from '@hono/zod-openapi';
import { topology } from '@reservex/contracts';
import { describe, expect, it } from 'vitest';
import { type Consumers, defineService, eachTopic, inBatches } from './index.ts';

const app = () => new OpenAPIHono();
const database = { schema: {}, migrations: new URL('../testing/drizzle', import.meta.url) };
const handled = () => undefined;

describe('defineService', () => {
  it('takes a declaration that consumes exactly what topology lists', () => {
    const queue = defineService({
      name: 'queue',
      config: {},
      database,
      app,
      consumes: () => ({ 'reservation.confirmed': handled, 'reservation.cancelled': handled }),
    });
    expect(queue.name).toBe('queue');
  });

  it('refuses, at compile time, a topic topology does not list for the service', () => {
    const declared = defineService({
      name: 'queue',
      config: {},
      database,
      app,
      // @ts-expect-error queue does not consume reservation.created
      consumes: () => ({
        'reservation.confirmed': handled,
        'reservation.cancelled': handled,
        'reservation.created': handled,
      }),
    });
    expect(declared.name).toBe('queue');
  });

  it('refuses, at compile time, a missing topic, even when the map is built elsewhere', () => {
    const partial = { 'reservation.confirmed': handled };
    const extra = { ...partial, 'reservation.cancelled': handled, 'stock.reserved': handled };
    defineService({
      name: 'queue',
      config: {},
      database,
      app,
      // @ts-expect-error reservation.cancelled has no handler
      consumes: () => partial,
    });
    defineService({
      name: 'queue',
      config: {},
      database,
      app,
      // @ts-expect-error a map from elsewhere (no excess-property check) still may not add a topic
      consumes: () => extra,
    });
    const exact: Consumers<'queue'> = { 'reservation.confirmed': handled, 'reservation.cancelled': handled };
    expect(Object.keys(exact)).toEqual(['reservation.confirmed', 'reservation.cancelled']);
  });

  it('requires a database exactly where the deployments say the service owns one', () => {
    const consumes = () => eachTopic(topology.queue.consumes, () => handled);
    // @ts-expect-error queue owns a database: its declaration names the schema and migrations
    const queue = defineService({ name: 'queue', config: {}, app, consumes });
    // @ts-expect-error the gateway owns none
    const gateway = defineService({ name: 'gateway', config: {}, database, app, consumes: () => ({}) });
    expect([queue.name, gateway.name]).toEqual(['queue', 'gateway']);
  });

  it('runs a sidecarless service without events, and refuses them at compile time', () => {
    const sandbox = defineService({ name: 'card-sandbox', config: {}, database, app });
    // @ts-expect-error a service with a sidecar declares what it consumes, even nothing
    const account = defineService({ name: 'account', config: {}, database, app });
    // @ts-expect-error a service without a sidecar consumes nothing
    defineService({ name: 'card-sandbox', config: {}, database, app, consumes: () => ({}) });
    // @ts-expect-error nor does it relay
    defineService({ name: 'card-sandbox', config: {}, database, app, relay: true });
    expect([sandbox.name, account.name]).toEqual(['card-sandbox', 'account']);
  });

  it('maps a list of topics to one handler each, and marks bulk consumers', () => {
    const consumers = eachTopic(topology.queue.consumes, () => handled);
    expect(Object.keys(consumers)).toEqual([...topology.queue.consumes]);
    const batched = inBatches<'reservation.created'>(async () => undefined, { maxMessages: 10 });
    expect(batched.options).toEqual({ maxMessages: 10 });
  });
});

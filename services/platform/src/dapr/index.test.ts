import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, createDapr, DaprError, DaprTimeoutError, toDaprError } from './index.ts';

describe('toDaprError', () => {
  it('unpacks the SDK’s JSON-in-message errors: status, Dapr error code, sidecar message', () => {
    const sdkError = new Error(
      JSON.stringify({
        error: 'Conflict',
        error_msg: JSON.stringify({ errorCode: 'ERR_STATE_SAVE', message: 'possible etag mismatch' }),
        status: 409,
      }),
    );
    const error = toDaprError('state.save', sdkError);
    expect(error).toBeInstanceOf(DaprError);
    expect([error.status, error.errorCode, error.message]).toEqual([
      409,
      'ERR_STATE_SAVE',
      'dapr state.save: possible etag mismatch',
    ]);
    expect(error.cause).toBe(sdkError);
  });

  it('keeps plain errors (connection refused) as DaprError without a status', () => {
    const error = toDaprError('publish', new Error('connect ECONNREFUSED 127.0.0.1:3500'));
    expect([error.status, error.message]).toEqual([
      undefined,
      'dapr publish: connect ECONNREFUSED 127.0.0.1:3500',
    ]);
    expect(toDaprError('x', 'a string')).toBeInstanceOf(DaprError);
  });

  it('passes DaprErrors through unchanged', () => {
    const timeout = new DaprTimeoutError('lock', 10);
    expect(toDaprError('lock', timeout)).toBe(timeout);
  });
});

describe('backoffDelay', () => {
  it('stays within [min, max] and its ceiling grows with the attempt', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (attempt, min, extra) => {
          const max = min + extra;
          const delay = backoffDelay(attempt, min, max);
          expect(delay).toBeGreaterThanOrEqual(min);
          expect(delay).toBeLessThanOrEqual(max);
        },
      ),
    );
  });
});

describe('createDapr against an absent sidecar', () => {
  // Port 9 (discard) on loopback refuses connections: every call must fail fast and typed.
  const dapr = createDapr({ httpPort: 9, timeoutMs: 300 });

  it('readiness fails with a DaprError', async () => {
    await expect(dapr.ready()).rejects.toBeInstanceOf(DaprError);
  });

  it('an SDK call is bounded by the timeout, not by the SDK’s sidecar wait', async () => {
    const started = Date.now();
    await expect(dapr.publish('pubsub', 'ticket.voided', {})).rejects.toBeInstanceOf(DaprTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects a lock expiry that Dapr would not accept', async () => {
    await expect(dapr.lock.tryLock('lockstore', 'r', 'o', 0)).rejects.toBeInstanceOf(RangeError);
    await expect(dapr.lock.tryLock('lockstore', 'r', 'o', 1.5)).rejects.toBeInstanceOf(RangeError);
  });
});

describe('createDapr().shutdown', () => {
  it('POSTs /v1.0/shutdown and turns a refusal into a DaprError', async () => {
    const seen: string[] = [];
    let answer = 204;
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      response.writeHead(answer).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const dapr = createDapr({ httpPort: (server.address() as AddressInfo).port, timeoutMs: 1000 });
      await dapr.shutdown();
      expect(seen).toEqual(['POST /v1.0/shutdown']);
      answer = 500;
      await expect(dapr.shutdown()).rejects.toBeInstanceOf(DaprError);
    } finally {
      server.close();
    }
  });
});

describe('createDapr().publishBulk', () => {
  it('sends whole CloudEvents as they are, and answers the entries the sidecar failed', async () => {
    const seen: { url: string; body: unknown }[] = [];
    let answer: { status: number; body: string } = { status: 204, body: '' };
    const server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      seen.push({ url: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const dapr = createDapr({ httpPort: (server.address() as AddressInfo).port, timeoutMs: 1000 });
      const entries = ['a', 'b'].map((entryId) => ({
        entryId,
        event: { specversion: '1.0', id: entryId, type: 'ticket.voided', data: {} },
        partitionKey: `key-${entryId}`,
      }));
      expect((await dapr.publishBulk('pubsub', 'ticket.voided', entries)).failed).toEqual(new Map());
      expect(seen[0]).toEqual({
        url: '/v1.0-alpha1/publish/bulk/pubsub/ticket.voided?metadata.rawPayload=true',
        body: entries.map((entry) => ({
          entryId: entry.entryId,
          event: entry.event,
          contentType: 'application/cloudevents+json',
          metadata: { partitionKey: entry.partitionKey },
        })),
      });

      answer = {
        status: 500,
        body: JSON.stringify({ failedEntries: [{ entryId: 'b', error: 'broker down' }], errorCode: 'ERR' }),
      };
      expect((await dapr.publishBulk('pubsub', 'ticket.voided', entries)).failed).toEqual(
        new Map([['b', 'broker down']]),
      );
      answer = { status: 403, body: JSON.stringify({ errorCode: 'ERR_PUBSUB_FORBIDDEN', message: 'no' }) };
      await expect(dapr.publishBulk('pubsub', 'ticket.voided', entries)).rejects.toBeInstanceOf(DaprError);
      expect(seen).toHaveLength(3);
    } finally {
      server.close();
    }
  });
});

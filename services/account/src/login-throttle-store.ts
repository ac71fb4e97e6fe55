// Failed-login records per (email, client address), kept in Dapr state (Redis) with a TTL so they
// disappear on their own. The key is a hash: the state store never holds an email address.
import { createHash } from 'node:crypto';
import type { Dapr } from '@reservex/platform/dapr';
import { StateConflictError } from '@reservex/platform/dapr';
import {
  type FailureRecord,
  gate,
  type LoginGate,
  recordFailure,
  recordTtlSeconds,
  type ThrottlePolicy,
} from './domain/login-throttle.ts';

export interface LoginThrottle {
  check(email: string, clientAddress: string): Promise<LoginGate>;
  failed(email: string, clientAddress: string): Promise<LoginGate>;
  succeeded(email: string, clientAddress: string): Promise<void>;
}

export function daprLoginThrottle(dapr: Dapr, store: string, policy: ThrottlePolicy): LoginThrottle {
  const keyOf = (email: string, clientAddress: string) =>
    `login-failures:${createHash('sha256').update(`${email}\n${clientAddress}`).digest('hex')}`;

  return {
    async check(email, clientAddress) {
      const entry = await dapr.state.get<FailureRecord>(store, keyOf(email, clientAddress));
      return gate(entry?.value, Date.now());
    },

    async failed(email, clientAddress) {
      const key = keyOf(email, clientAddress);
      // Concurrent failures race on the etag; the loser re-reads and counts again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const entry = await dapr.state.get<FailureRecord>(store, key);
        const now = Date.now();
        const record = recordFailure(entry?.value, now, policy);
        try {
          await dapr.state.save(store, key, record, {
            ...(entry?.etag ? { etag: entry.etag } : { firstWrite: true }),
            ttlSeconds: recordTtlSeconds(record, now, policy),
          });
          return gate(record, now);
        } catch (error) {
          if (!(error instanceof StateConflictError)) throw error;
        }
      }
      return { allowed: false, retryAfterSeconds: Math.ceil(policy.baseLockMs / 1000) };
    },

    async succeeded(email, clientAddress) {
      await dapr.state.delete(store, keyOf(email, clientAddress));
    },
  };
}

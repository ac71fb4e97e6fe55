// Idempotency-Key replies kept in Dapr state (Redis) with a TTL. A key is claimed with a first-write
// before any work starts, so two concurrent requests with the same key cannot both book; the reply is
// stored once the reservation exists. Only a successful reply is kept: a refused request changed
// nothing, so trying it again with the same key simply runs the checks again.
import { createHash } from 'node:crypto';
import { canonicalJson } from '@reservex/contracts';
import { type Dapr, StateConflictError } from '@reservex/platform/dapr';

/** The etag of a key's first version in the Redis state store. */
const FIRST_VERSION = '1';

export type StoredReply = { status: number; body: unknown; location?: string };

type Entry =
  | { state: 'in-progress'; fingerprint: string }
  | { state: 'done'; fingerprint: string; reply: StoredReply };

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; reply: StoredReply }
  /** The key was used for a different request. */
  | { kind: 'mismatch' }
  /** The first request with this key is still being processed. */
  | { kind: 'in-progress' };

export type IdempotencyOptions = {
  state: Dapr['state'];
  store: string;
  /** How long a reply is kept. */
  ttlSeconds: number;
  /** How long a claim lives if its request never finishes (a crash). */
  claimTtlSeconds?: number;
};

/** The same request, whatever the order of its JSON members. */
export function fingerprint(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('base64url');
}

export function createIdempotency(options: IdempotencyOptions) {
  const { state, store, ttlSeconds } = options;
  const claimTtlSeconds = options.claimTtlSeconds ?? 60;
  // Keys are per user: one user's key can never replay another user's reply.
  const keyOf = (userId: string, key: string) => `idempotency:${fingerprint([userId, key])}`;

  async function claim(userId: string, key: string, print: string): Promise<Claim> {
    const stateKey = keyOf(userId, key);
    // Two rounds: the existing entry may expire between our failed claim and our read.
    for (let round = 0; round < 2; round++) {
      try {
        const entry: Entry = { state: 'in-progress', fingerprint: print };
        await state.save(store, stateKey, entry, { firstWrite: true, ttlSeconds: claimTtlSeconds });
        return { kind: 'claimed' };
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
      }
      const existing = await state.get<Entry>(store, stateKey);
      if (!existing) continue;
      if (existing.value.fingerprint !== print) return { kind: 'mismatch' };
      if (existing.value.state === 'done') return { kind: 'replay', reply: existing.value.reply };
      return { kind: 'in-progress' };
    }
    return { kind: 'in-progress' };
  }

  async function complete(userId: string, key: string, print: string, reply: StoredReply): Promise<void> {
    const stateKey = keyOf(userId, key);
    const entry: Entry = { state: 'done', fingerprint: print, reply };
    // A key written first-write can only be overwritten with its etag (Redis store semantics). The
    // Redis store numbers a key's versions from 1, so our own claim is version 1: one call, no read.
    // Should the store say otherwise, the etag is read and the write made with it.
    try {
      await state.save(store, stateKey, entry, { ttlSeconds, etag: FIRST_VERSION });
      return;
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
    const claimed = await state.get<Entry>(store, stateKey);
    await state.save(store, stateKey, entry, {
      ttlSeconds,
      ...(claimed?.etag === undefined ? {} : { etag: claimed.etag }),
    });
  }

  /** Forgets a claim whose request was refused or failed, so the same key can be tried again. */
  async function release(userId: string, key: string): Promise<void> {
    await state.delete(store, keyOf(userId, key));
  }

  return { claim, complete, release };
}

export type Idempotency = ReturnType<typeof createIdempotency>;

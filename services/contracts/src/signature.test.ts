import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { trustedOwnersOf } from './access.ts';
import {
  publicKeyOf,
  SIGNATURE_ATTRIBUTE,
  signEvent,
  signingKeyFrom,
  trustedKeysFrom,
  verifyEvent,
} from './signature.ts';

const newKey = () =>
  signingKeyFrom(
    generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  );
const payment = newKey();
const ticket = newKey();
const trusted = trustedKeysFrom(`payment=${publicKeyOf(payment)}, ticket=${publicKeyOf(ticket)}`);

const data = { reservationId: randomUUID(), amountMinor: 5000, currency: 'EUR', nested: { b: 1, a: [2, 3] } };
function signed(key = payment, topic = 'payment.completed', id = randomUUID()) {
  return {
    id,
    type: topic,
    data,
    [SIGNATURE_ATTRIBUTE]: signEvent(key, { topic, id, type: topic, data }),
  };
}

describe('event signatures', () => {
  it('verify with the topic owner’s key, whatever order the keys of the data come in', () => {
    const event = signed();
    const reordered = {
      ...event,
      data: {
        nested: { a: [2, 3], b: 1 },
        currency: 'EUR',
        amountMinor: 5000,
        reservationId: data.reservationId,
      },
    };
    expect(verifyEvent(trusted, 'payment.completed', event)).toEqual({ authentic: true });
    expect(verifyEvent(trusted, 'payment.completed', reordered)).toEqual({ authentic: true });
  });

  it('refuse an unsigned event, naming the owner whose signature it lacks', () => {
    const { [SIGNATURE_ATTRIBUTE]: _, ...unsigned } = signed();
    expect(verifyEvent(trusted, 'payment.completed', unsigned)).toEqual({
      authentic: false,
      reason: 'unsigned: payment.completed must carry the signature of payment',
    });
  });

  it('refuse an event signed by a key that is not its topic owner’s', () => {
    const verdict = verifyEvent(trusted, 'payment.completed', signed(ticket));
    expect(verdict).toMatchObject({ authentic: false, reason: expect.stringContaining('bad signature') });
  });

  it('refuse a signed event replayed under another id, on another topic or with other facts', () => {
    const event = signed();
    expect(verifyEvent(trusted, 'payment.completed', { ...event, id: randomUUID() }).authentic).toBe(false);
    expect(verifyEvent(trusted, 'payment.failed', event).authentic).toBe(false);
    expect(verifyEvent(trusted, 'payment.completed', { ...event, type: 'payment.failed' }).authentic).toBe(
      false,
    );
    const other = { ...event, data: { ...data, reservationId: randomUUID() } };
    expect(verifyEvent(trusted, 'payment.completed', other).authentic).toBe(false);
    expect(
      verifyEvent(trusted, 'payment.completed', { ...event, [SIGNATURE_ATTRIBUTE]: 'bm9wZQ==' }).authentic,
    ).toBe(false);
  });

  it('refuse every event of an owner whose key is not trusted', () => {
    expect(verifyEvent(new Map(), 'payment.completed', signed())).toEqual({
      authentic: false,
      reason: 'no trusted key of payment, the owner of payment.completed',
    });
  });

  it('read only well-formed keys', () => {
    expect(() => trustedKeysFrom('nobody=AAAA')).toThrow(/names no service/);
    expect(() => trustedKeysFrom('payment=AAAA')).toThrow(/not a raw Ed25519 key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signingKeyFrom(rsa.export({ format: 'der', type: 'pkcs8' }).toString('base64'))).toThrow(
      /not an Ed25519 key/,
    );
  });

  it('a consumer trusts its topics’ owners; a dead-letter reader every publisher', () => {
    expect(trustedOwnersOf('ticket').sort()).toEqual(['payment', 'reservation']);
    expect(trustedOwnersOf('reservation').sort()).toEqual(['inventory', 'payment', 'reservation', 'ticket']);
    expect(trustedOwnersOf('gateway')).toEqual([]);
  });
});

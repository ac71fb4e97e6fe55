// Saga events are signed by their publisher and verified by every consumer before anything else. The
// pub/sub scopes stop an app from publishing a topic it does not own; a signature also stops whoever
// writes to the broker directly. Each service has its own Ed25519 key; a consumer trusts, for each
// topic, only the key of the topic's owner (contracts' `ownerOf`), from its configuration.
//
// The signature is a CloudEvent extension attribute (Dapr passes a published CloudEvent's attributes
// through to the subscriber and into the dead-letter topic unchanged). It covers the topic, the event
// id, its type and its data in a canonical form (keys sorted: the sidecar re-encodes the JSON), so an
// event replayed under another id, on another topic or with other facts does not verify.
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { ownerOf } from './access.ts';
import { sortedKeys } from './canonical-json.ts';
import type { Topic } from './events.ts';
import { type AppId, appIds } from './services.ts';

/** The CloudEvent extension attribute carrying the publisher's signature (base64). */
export const SIGNATURE_ATTRIBUTE = 'rxsignature';

/** What a signature covers. */
export type SignedFacts = { topic: string; id: string; type: string; data: unknown };

/** A service's own signing key: Ed25519, from base64 PKCS#8 DER (a PEM's body). */
export type SigningKey = KeyObject;

/** The public key of each publishing service a consumer trusts. */
export type TrustedKeys = ReadonlyMap<AppId, KeyObject>;

/** Reads a service's private key: base64 PKCS#8 DER of an Ed25519 key (the body of its PEM). */
export function signingKeyFrom(text: string): SigningKey {
  const key = createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the event signing key is not an Ed25519 key');
  return key;
}

/** The raw public key (32 bytes, base64) of a signing key: what its consumers are configured with. */
export function publicKeyOf(key: SigningKey): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/**
 * Reads the trusted keys: `app=key` pairs separated by commas, each key the raw Ed25519 public key
 * in base64 (as `publicKeyOf` gives it).
 */
export function trustedKeysFrom(text: string): TrustedKeys {
  const keys = new Map<AppId, KeyObject>();
  for (const pair of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const at = pair.indexOf('=');
    const app = pair.slice(0, at).trim();
    if (at < 1 || !(appIds as readonly string[]).includes(app))
      throw new Error(`a trusted event key names no service (${at < 1 ? 'no app=' : app})`);
    const raw = Buffer.from(pair.slice(at + 1).trim(), 'base64');
    if (raw.length !== 32) throw new Error(`the trusted event key of ${app} is not a raw Ed25519 key`);
    keys.set(
      app as AppId,
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }),
    );
  }
  return keys;
}

/** The signature (base64) of `facts` with `key`. */
export function signEvent(key: SigningKey, facts: SignedFacts): string {
  return sign(null, signedBytes(facts), key).toString('base64');
}

export type Verdict = { authentic: true } | { authentic: false; reason: string };

/**
 * Whether `cloudEvent`, delivered on `topic`, carries a valid signature of the topic's owner. The
 * reason of a refusal is for the operator: it names what is missing or wrong, never a key.
 */
export function verifyEvent(
  trusted: TrustedKeys,
  topic: Topic,
  cloudEvent: { id: string; type?: string | undefined; data?: unknown; [attribute: string]: unknown },
): Verdict {
  const owner = ownerOf(topic);
  const key = trusted.get(owner);
  if (!key) return { authentic: false, reason: `no trusted key of ${owner}, the owner of ${topic}` };
  const signature = cloudEvent[SIGNATURE_ATTRIBUTE];
  if (typeof signature !== 'string' || signature === '')
    return { authentic: false, reason: `unsigned: ${topic} must carry the signature of ${owner}` };
  const facts = { topic, id: cloudEvent.id, type: cloudEvent.type ?? '', data: cloudEvent.data };
  let valid = false;
  try {
    valid = verify(null, signedBytes(facts), key, Buffer.from(signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid
    ? { authentic: true }
    : {
        authentic: false,
        reason: `bad signature: not signed by ${owner} (the owner of ${topic}) for this id, topic, type and data`,
      };
}

function signedBytes(facts: SignedFacts): Buffer {
  return Buffer.from(
    `reservex-event/v1\n${JSON.stringify([facts.topic, facts.id, facts.type, sortedKeys(facts.data)])}`,
    'utf8',
  );
}

// The services' event signing keys, made once per run (like the run's sentry keys) and kept in its run
// directory, so every app of the run — whichever process starts it — signs and verifies with the same
// ones. A publisher gets its own private key, a consumer the public keys of its topics' owners.
import { generateKeyPairSync } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AppId,
  appIds,
  publicKeyOf,
  SIGNATURE_ATTRIBUTE,
  signEvent,
  signingKeyFrom,
  topology,
  trustedOwnersOf,
} from '@reservex/contracts';

/** Each service's private key, base64 PKCS#8 DER (EVENT_SIGNING_KEY's form). */
export type EventKeys = Record<AppId, string>;

/** The run's keys: made by the first process that asks, read by the others. */
export function eventKeysOf(runDir: string): EventKeys {
  const file = join(runDir, 'event-keys.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as EventKeys;
  } catch {
    // Not there yet: make them, and publish the file atomically (the first writer wins).
  }
  const keys = Object.fromEntries(
    appIds.map((appId) => [
      appId,
      generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    ]),
  ) as EventKeys;
  mkdirSync(runDir, { recursive: true });
  const draft = `${file}.${process.pid}.${Date.now()}`;
  writeFileSync(draft, JSON.stringify(keys), { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch {
    // Another process was first: its keys are the run's.
  } finally {
    rmSync(draft, { force: true });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as EventKeys;
}

/** A service's key variables: its own key if it publishes, its topics' owners' keys if it consumes. */
export function eventKeyEnv(runDir: string, appId: AppId): Record<string, string> {
  const keys = eventKeysOf(runDir);
  const owners = trustedOwnersOf(appId);
  return {
    ...(topology[appId].publishes.length > 0 ? { EVENT_SIGNING_KEY: keys[appId] } : {}),
    ...(owners.length > 0
      ? {
          EVENT_TRUSTED_KEYS: owners
            .map((owner) => `${owner}=${publicKeyOf(signingKeyFrom(keys[owner]))}`)
            .join(','),
        }
      : {}),
  };
}

/**
 * The whole CloudEvent `appId` would publish on `topic`, signed with `signingKey` (its
 * EVENT_SIGNING_KEY): what tests publish as an owner, through its sidecar as
 * `application/cloudevents+json` or straight into Kafka.
 */
export function signedCloudEvent(
  signingKey: string,
  appId: string,
  topic: string,
  data: unknown,
  options: { id?: string | undefined; type?: string | undefined } = {},
): Record<string, unknown> {
  const id = options.id ?? crypto.randomUUID();
  const type = options.type ?? topic;
  return {
    specversion: '1.0',
    id,
    source: appId,
    type,
    datacontenttype: 'application/json',
    [SIGNATURE_ATTRIBUTE]: signEvent(signingKeyFrom(signingKey), { topic, id, type, data }),
    data,
  };
}

// The chart's boundaries between services equal the contracts' tables: each service's Dapr access
// control is its rows of the invocation table (deny by default), the pub/sub scopes are the topology
// (both ways, every topic protected), and the NetworkPolicies open no app port but the gateway's.
import { readFileSync } from 'node:fs';
import {
  type AppId,
  allowedCalls,
  appIds,
  DEAD_LETTER_TOPIC,
  publicKeyOf,
  signingKeyFrom,
  topics,
  topology,
  trustedKeysFrom,
  trustedOwnersOf,
} from '@reservex/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessDocumentFile, renderAccessDocument } from './access-document.ts';
import {
  type K8sObject,
  PROVISION_TIMEOUT_MS,
  parseObjects,
  provisionTools,
  render,
  renderYaml,
  valuesFiles,
} from './tools.ts';

beforeAll(provisionTools, PROVISION_TIMEOUT_MS);

type Policy = {
  appId: string;
  defaultAction: string;
  trustDomain: string;
  namespace: string;
  operations: { name: string; httpVerb: string[]; action: string }[];
};
type Acl = { defaultAction: string; policies?: Policy[] | null };
type NetworkPolicy = {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    ingress: { from?: unknown[]; ports: { port: number | string }[] }[];
  };
};

const annotations = (o: K8sObject): Record<string, string> =>
  (o.spec as { template?: { metadata?: { annotations?: Record<string, string> } } }).template?.metadata
    ?.annotations ?? {};
const deploymentOf = (objects: K8sObject[], app: string) =>
  objects.find((o) => o.kind === 'Deployment' && annotations(o)['dapr.io/app-id'] === app)!;
const configurationOf = (objects: K8sObject[], app: string) => {
  const name = annotations(deploymentOf(objects, app))['dapr.io/config'];
  return objects.find((o) => o.kind === 'Configuration' && o.metadata.name === name);
};
/** The metadata of an app's own pub/sub component (`pubsub-<app-id>`). */
const pubsubMetadata = (objects: K8sObject[], app: string) => {
  const pubsub = objects.find((o) => o.kind === 'Component' && o.metadata.name === `pubsub-${app}`)!;
  const entries = (pubsub.spec as { metadata: { name: string; value?: string }[] }).metadata;
  return Object.fromEntries(entries.map((m) => [m.name, m.value ?? '']));
};
function parseScopes(value: string): Record<string, string[]> {
  return Object.fromEntries(
    value.split(';').map((entry) => {
      const [app, list] = entry.split('=');
      return [app!, list ? list.split(',') : []];
    }),
  );
}

describe('the access document the chart reads', () => {
  it('is the one generated from the contracts (regenerate: node tests/e2e/chart/access-document.ts)', () => {
    expect(readFileSync(accessDocumentFile, 'utf8')).toBe(renderAccessDocument());
  });
});

for (const which of ['default', 'production'] as const) {
  describe(`trust boundaries with the ${which} values`, () => {
    const objects = () => render(which);

    it('gives each service its own Configuration whose access control is its rows of the invocation table', () => {
      for (const callee of appIds) {
        const acl = (configurationOf(objects(), callee)?.spec as { accessControl?: Acl } | undefined)
          ?.accessControl;
        expect(acl?.defaultAction, callee).toBe('deny');
        const allowed = (acl?.policies ?? []).flatMap((p) => {
          expect([p.defaultAction, p.trustDomain, p.namespace], `${p.appId} -> ${callee}`).toEqual([
            'deny',
            'public',
            'reservex',
          ]);
          return p.operations.flatMap((o) => {
            expect(o.action).toBe('allow');
            return o.httpVerb.map((verb) => `${p.appId} ${verb} ${o.name}`);
          });
        });
        expect(allowed.sort(), callee).toEqual(allowedCalls(callee));
      }
    });

    it('lets only the gateway call user routes and nobody call the gateway', () => {
      const callersOf = (app: AppId) =>
        ((configurationOf(objects(), app)!.spec as { accessControl: Acl }).accessControl.policies ?? []).map(
          (p) => p.appId,
        );
      expect(callersOf('gateway')).toEqual([]);
      for (const app of ['account', 'queue'] as const) expect(callersOf(app)).toEqual(['gateway']);
    });

    it('scopes the pub/sub to the topology both ways, every topic protected', () => {
      // What each app's own component lets it publish and read.
      const pubsubApps = appIds.filter(
        (app) => topology[app].publishes.length + topology[app].consumes.length > 0,
      );
      const own = (key: 'publishingScopes' | 'subscriptionScopes') =>
        Object.fromEntries(
          pubsubApps.map((app) => [app, parseScopes(pubsubMetadata(objects(), app)[key] ?? '')[app] ?? []]),
        );
      const publishing = own('publishingScopes');
      const subscribing = own('subscriptionScopes');
      for (const app of pubsubApps) {
        const consumes = topology[app].consumes as readonly string[];
        const publishes = [...topology[app].publishes, ...(consumes.length > 0 ? [DEAD_LETTER_TOPIC] : [])];
        expect(publishing[app]?.sort(), app).toEqual(publishes.sort());
        const reads = [...consumes, ...(app === 'query' || app === 'reservation' ? [DEAD_LETTER_TOPIC] : [])];
        expect(subscribing[app]?.sort(), app).toEqual(reads.sort());
      }
      for (const topic of topics) {
        const publishers = Object.entries(publishing)
          .filter(([, list]) => list.includes(topic))
          .map(([app]) => app);
        const owners = appIds.filter((app) => (topology[app].publishes as readonly string[]).includes(topic));
        expect(publishers, topic).toEqual(owners);
        const readers = Object.entries(subscribing)
          .filter(([, list]) => list.includes(topic))
          .map(([app]) => app)
          .sort();
        const consumers = appIds.filter((app) =>
          (topology[app].consumes as readonly string[]).includes(topic),
        );
        expect(readers, topic).toEqual([...consumers].sort());
      }
      for (const app of pubsubApps) {
        expect(pubsubMetadata(objects(), app).protectedTopics?.split(',').sort(), app).toEqual(
          [...topics, DEAD_LETTER_TOPIC].sort(),
        );
      }
    });

    it('gives each service and its sidecar their own generated tokens: Dapr API token, and app token but for the gateway', () => {
      type Env = { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
      const secrets = new Map(
        objects()
          .filter((o) => o.kind === 'Secret')
          .map((o) => [o.metadata.name, (o as unknown as { data?: Record<string, string> }).data ?? {}]),
      );
      const seen = new Set<string>();
      for (const app of appIds) {
        const deployment = deploymentOf(objects(), app);
        const a = annotations(deployment);
        const env = (deployment.spec as { template: { spec: { containers: { env?: Env[] }[] } } }).template
          .spec.containers[0]!.env!;
        const fromSecret = (name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
        for (const [annotation, variable] of [
          ['dapr.io/api-token-secret', 'DAPR_API_TOKEN'],
          ['dapr.io/app-token-secret', 'APP_API_TOKEN'],
        ] as const) {
          const secret = a[annotation];
          expect(secret, `${app} ${annotation}`).toBeDefined();
          const token = secrets.get(secret!)?.token;
          expect(Buffer.from(token ?? '', 'base64').length, `${app} ${secret}`).toBeGreaterThanOrEqual(32);
          expect(seen.has(token!), `${app} ${secret} is its own`).toBe(false);
          seen.add(token!);
          const ref = fromSecret(variable);
          if (variable === 'APP_API_TOKEN' && app === 'gateway') expect(ref).toBeUndefined();
          else expect(ref, `${app} ${variable}`).toEqual({ name: secret, key: 'token' });
        }
      }
    });

    it('opens no app port to other pods: sidecars meet on 50002, only the gateway’s app port faces the ingress', () => {
      const policies = objects().filter((o) => o.kind === 'NetworkPolicy') as unknown as (K8sObject &
        NetworkPolicy)[];
      for (const app of appIds) {
        const deployment = deploymentOf(objects(), app);
        const appPort = Number(annotations(deployment)['dapr.io/app-port']);
        const labels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } })
          .template.metadata.labels;
        const selecting = policies.filter((p) =>
          Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => labels[k] === v),
        );
        expect(selecting.length, app).toBeGreaterThan(0);
        const rules = selecting.flatMap((p) => p.spec.ingress);
        const open = (port: number) => rules.filter((r) => r.ports.some((p) => Number(p.port) === port));
        expect(open(50002).length, `${app} sidecar port`).toBeGreaterThan(0);
        if (app === 'gateway') {
          expect(open(appPort).length, 'gateway app port').toBe(1);
          // Exactly the ingress rule: nothing else on it.
          expect(open(appPort)[0]?.ports.map((p) => Number(p.port))).toEqual([appPort]);
        } else {
          expect(open(appPort), `${app} app port`).toEqual([]);
        }
      }
    });
  });
}

describe('trust boundaries of the read-model rebuild', () => {
  it('gives the rebuild sidecar query’s subscriptions and a configuration nobody may invoke', () => {
    const objects = parseObjects(
      renderYaml(
        [valuesFiles.default],
        ['--set', 'queryRebuild.enabled=true', '--set', 'queryRebuild.id=r1'],
      ),
    );
    const subscribing = parseScopes(pubsubMetadata(objects, 'query-rebuild-r1').subscriptionScopes ?? '');
    expect(subscribing['query-rebuild-r1']).toEqual(subscribing.query);
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name.endsWith('query-rebuild-r1'))!;
    const config = objects.find(
      (o) => o.kind === 'Configuration' && o.metadata.name === annotations(job)['dapr.io/config'],
    );
    expect((config!.spec as { accessControl: Acl }).accessControl).toMatchObject({ defaultAction: 'deny' });
  });
});

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
const containerEnv = (o: K8sObject): EnvVar[] =>
  (o.spec as { template: { spec: { containers: { env?: EnvVar[] }[] } } }).template.spec.containers.flatMap(
    (c) => c.env ?? [],
  );

for (const which of ['default', 'production'] as const) {
  describe(`event signing keys with the ${which} values`, () => {
    const objects = () => render(which);
    const secretNamed = (name: string) =>
      objects().find((o) => o.kind === 'Secret' && o.metadata.name === name);
    /** The public key of the private key in the Secret `name`. */
    const publicKeyIn = (name: string) => {
      const data = (secretNamed(name) as { data?: Record<string, string> } | undefined)?.data;
      return publicKeyOf(signingKeyFrom(Buffer.from(data!.key!, 'base64').toString('utf8')));
    };
    const signingSecretOf = (app: AppId) =>
      containerEnv(deploymentOf(objects(), app)).find((e) => e.name === 'EVENT_SIGNING_KEY')?.valueFrom
        ?.secretKeyRef;

    it('gives each publishing service its own private key and nobody else’s', () => {
      const used = new Map<string, AppId>();
      for (const app of appIds) {
        const ref = signingSecretOf(app);
        if (topology[app].publishes.length === 0) {
          expect(ref, app).toBeUndefined();
          continue;
        }
        expect(ref?.key, app).toBe('key');
        expect(used.get(ref!.name), `${app} shares its key with ${used.get(ref!.name)}`).toBeUndefined();
        used.set(ref!.name, app);
        // No other container of the release reads that Secret.
        const readers = objects()
          .filter((o) => ['Deployment', 'Job'].includes(o.kind))
          .filter((o) => containerEnv(o).some((e) => e.valueFrom?.secretKeyRef?.name === ref!.name))
          .map((o) => annotations(o)['dapr.io/app-id'] ?? o.metadata.name);
        expect(new Set(readers), app).toEqual(new Set([app]));
      }
      // Distinct keys, not only distinct Secrets.
      const keys = [...used.keys()].map(publicKeyIn);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('gives every consumer exactly its topics’ owners’ public keys, matching their private keys', () => {
      for (const app of appIds) {
        const value = containerEnv(deploymentOf(objects(), app)).find(
          (e) => e.name === 'EVENT_TRUSTED_KEYS',
        )?.value;
        const owners = trustedOwnersOf(app);
        if (owners.length === 0) {
          expect(value, app).toBeUndefined();
          continue;
        }
        const trusted = trustedKeysFrom(value!);
        expect([...trusted.keys()].sort(), app).toEqual([...owners].sort());
        for (const owner of owners) {
          const expected = publicKeyIn(signingSecretOf(owner)!.name);
          const jwk = trusted.get(owner)!.export({ format: 'jwk' });
          expect(Buffer.from(jwk.x as string, 'base64url').toString('base64'), `${app} trusts ${owner}`).toBe(
            expected,
          );
        }
      }
    });
  });
}

describe('event signing keys across renders', () => {
  it('are the same for the same release seed (an upgrade or a Tilt reload rolls nothing)', () => {
    const seed = ['--set', `secrets.seed=${'s'.repeat(40)}`];
    const keysOf = (yamlText: string) =>
      parseObjects(yamlText)
        .filter((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-event-key'))
        .map((o) => JSON.stringify([o.metadata.name, (o as { data?: unknown }).data]));
    const first = keysOf(renderYaml([valuesFiles.default], seed));
    expect(first).toHaveLength(appIds.filter((app) => topology[app].publishes.length > 0).length);
    expect(keysOf(renderYaml([valuesFiles.default], seed))).toEqual(first);
  });
});

// Rules every rendered object must follow, checked over both values files: workloads are probed,
// bounded and non-root; Dapr apps reach exactly the components they use; every topic of the contracts
// has a KafkaTopic; every image and version is pinned.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AppId,
  appIds,
  DEAD_LETTER_TOPIC,
  migrateCommandOf,
  streamingApps,
  type Topic,
  topics,
  topology,
} from '@reservex/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { argsOf, cmdOf, envOf, readDockerfile, stageOf } from './dockerfile.ts';
import { kindNode, operatorMadeRequests, quantity, reservedRequests } from './node.ts';
import {
  chartDir,
  type K8sObject,
  PROVISION_TIMEOUT_MS,
  parseObjects,
  podSpecOf,
  provisionTools,
  readYamlFile,
  render,
  renderYaml,
  renderYamlAsync,
  repoRoot,
  valuesFiles,
} from './tools.ts';

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  startupProbe?: { httpGet?: { path: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  volumes?: {
    name: string;
    emptyDir?: unknown;
    secret?: { secretName: string; items?: { key: string }[] };
    configMap?: { name: string };
  }[];
  affinity?: {
    podAntiAffinity?: {
      preferredDuringSchedulingIgnoredDuringExecution?: {
        podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } };
      }[];
    };
  };
}
interface DaprComponent extends K8sObject {
  spec: {
    type: string;
    metadata: { name: string; value?: string; secretKeyRef?: { name: string; key: string } }[];
  };
  scopes?: string[];
}

const valuesSets = ['default', 'production'] as const;

beforeAll(provisionTools, PROVISION_TIMEOUT_MS);
const daprComponents = ['pubsub', 'statestore', 'lockstore'] as const;
type DaprComponentName = (typeof daprComponents)[number];

const workloads = (objects: K8sObject[]) => objects.filter((o) => podSpecOf(o));
const pod = (o: K8sObject) => podSpecOf(o) as unknown as PodSpec;
const serviceDeployments = (objects: K8sObject[]) =>
  objects.filter(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'service',
  );
/** Metadata of a workload's pods (a Pod's own). */
const templateOf = (
  o: K8sObject,
): { annotations?: Record<string, string>; labels?: Record<string, string> } =>
  o.kind === 'Pod'
    ? o.metadata
    : (
        o.spec as {
          template: { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } };
        }
      ).template.metadata;
const selectorOf = (o: K8sObject) =>
  (o.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels;
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
/** Seconds of a Go duration such as 12s or 1m30s. */
const seconds = (d: string) =>
  [...d.matchAll(/(\d+)(h|m|s)/g)].reduce(
    (sum, [, n, unit]) => sum + Number(n) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1),
    0,
  );
const appIdOf = (o: K8sObject) =>
  (o.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
    .annotations['dapr.io/app-id'];
const component = (objects: K8sObject[], name: DaprComponentName) =>
  objects.find((o) => o.kind === 'Component' && o.metadata.name === name) as DaprComponent | undefined;
/** The pub/sub components: one per app, `pubsub-<app-id>`, scoped to that app. */
const pubsubs = (objects: K8sObject[]) =>
  objects.filter((o) => o.kind === 'Component' && o.metadata.name.startsWith('pubsub-')) as DaprComponent[];
const pubsubOf = (objects: K8sObject[], appId: string) =>
  objects.find((o) => o.kind === 'Component' && o.metadata.name === `pubsub-${appId}`) as
    | DaprComponent
    | undefined;
/** The KafkaUser an app's sidecar connects as (`<release>-<app-id>-kafka`). */
const kafkaUserOf = (objects: K8sObject[], appId: string) =>
  objects.find((o) => o.kind === 'KafkaUser' && o.metadata.name.endsWith(`-${appId}-kafka`));
type Acl = {
  type?: string;
  resource: { type: string; name: string; patternType: string };
  operations: string[];
};
/** The app-ids a component is scoped to; for the pub/sub, the apps that have one. */
const scopesOf = (objects: K8sObject[], name: DaprComponentName) =>
  name === 'pubsub'
    ? pubsubs(objects).flatMap((c) => c.scopes ?? [])
    : (component(objects, name)?.scopes ?? []);
const metadataValue = (c: DaprComponent, name: string) => c.spec.metadata.find((m) => m.name === name);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Dapr building blocks a service's code calls, read from its sources (the platform's client API). */
function componentsUsedInCode(appId: AppId): Set<DaprComponentName> {
  const code = sourceFiles(join(repoRoot, 'services', appId, 'src'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const used = new Set<DaprComponentName>();
  if (/\bstartRelay\s*\(|\bcreateSubscriber\s*\(|\.publish\s*\(|PUBSUB_NAME/.test(code)) used.add('pubsub');
  if (/\.state\.(get|getBulk|save|delete)\s*\(|STATESTORE_NAME/.test(code)) used.add('statestore');
  if (/\.lock\.(tryLock|acquire|unlock)\s*\(|LOCKSTORE_NAME/.test(code)) used.add('lockstore');
  return used;
}

function isPinnedImage(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const tag = image.split('/').pop()?.split(':')[1];
  return tag !== undefined && tag !== 'latest' && /\d/.test(tag);
}

for (const which of valuesSets) {
  describe(`policy with the ${which} values`, () => {
    const objects = () => render(which);

    it('deploys every service of the contracts, with its Dapr app-id', () => {
      const ids = serviceDeployments(objects()).map(appIdOf).sort();
      expect(ids).toEqual([...appIds].sort());
    });

    it('gives every container resource requests and limits', () => {
      for (const workload of workloads(objects())) {
        for (const c of pod(workload).containers) {
          const where = `${workload.kind}/${workload.metadata.name}/${c.name}`;
          expect(c.resources?.requests?.cpu, where).toBeDefined();
          expect(c.resources?.requests?.memory, where).toBeDefined();
          expect(c.resources?.limits?.cpu, where).toBeDefined();
          expect(c.resources?.limits?.memory, where).toBeDefined();
        }
      }
    });

    it('runs every container as non-root, read-only, without privilege escalation or capabilities', () => {
      for (const workload of workloads(objects())) {
        const spec = pod(workload);
        for (const c of spec.containers) {
          const where = `${workload.kind}/${workload.metadata.name}/${c.name}`;
          expect(c.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, where).toBe(true);
          expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
          expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
          expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
        }
      }
    });

    it('probes every long-running container; the services on /healthz and /readyz', () => {
      for (const workload of workloads(objects()).filter(
        (o) => o.kind === 'Deployment' || o.kind === 'StatefulSet',
      )) {
        for (const c of pod(workload).containers) {
          const where = `${workload.kind}/${workload.metadata.name}/${c.name}`;
          expect(c.livenessProbe, where).toBeDefined();
          expect(c.readinessProbe, where).toBeDefined();
        }
      }
      for (const deployment of serviceDeployments(objects())) {
        const [app] = pod(deployment).containers;
        expect(app?.livenessProbe?.httpGet?.path).toBe('/healthz');
        expect(app?.startupProbe?.httpGet?.path).toBe('/healthz');
        expect(app?.readinessProbe?.httpGet?.path).toBe('/readyz');
      }
    });

    it('mounts a writable /tmp (emptyDir) into each service, whose root filesystem is read-only', () => {
      for (const deployment of serviceDeployments(objects())) {
        const spec = pod(deployment);
        const mount = spec.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(mount, deployment.metadata.name).toBeDefined();
        expect(
          spec.volumes?.find((v) => v.name === mount?.name)?.emptyDir,
          deployment.metadata.name,
        ).toBeDefined();
      }
    });

    it('annotates each service for its Dapr sidecar: app-id, port, config, resources, graceful shutdown', () => {
      const configurations = objects()
        .filter((o) => o.kind === 'Configuration')
        .map((o) => o.metadata.name);
      for (const deployment of serviceDeployments(objects())) {
        const template = (
          deployment.spec as { template: { metadata: { annotations: Record<string, string> } } }
        ).template;
        const a = template.metadata.annotations;
        const spec = pod(deployment);
        const where = deployment.metadata.name;
        expect(a['dapr.io/enabled'], where).toBe('true');
        expect(a['dapr.io/app-id'], where).toBe(deployment.metadata.labels?.['app.kubernetes.io/name']);
        expect(Number(a['dapr.io/app-port']), where).toBe(spec.containers[0]?.ports?.[0]?.containerPort);
        expect(configurations, where).toContain(a['dapr.io/config']);
        for (const key of ['cpu-request', 'memory-request', 'cpu-limit', 'memory-limit']) {
          expect(a[`dapr.io/sidecar-${key}`], `${where} ${key}`).toBeTruthy();
        }
        const graceful = Number(a['dapr.io/graceful-shutdown-seconds']);
        expect(graceful, where).toBeGreaterThan(0);
        // The kubelet must not kill the pod before the sidecar's graceful shutdown has ended.
        expect(spec.terminationGracePeriodSeconds ?? 30, where).toBeGreaterThan(graceful);
      }
    });

    it('gives each service its ServiceAccount, Service, NetworkPolicy and PodDisruptionBudget', () => {
      const names = (kind: string) =>
        objects()
          .filter((o) => o.kind === kind)
          .map((o) => o.metadata.name);
      for (const deployment of serviceDeployments(objects())) {
        const name = deployment.metadata.name;
        expect(names('ServiceAccount')).toContain(pod(deployment).serviceAccountName);
        expect(names('Service')).toContain(name);
        expect(names('NetworkPolicy')).toContain(name);
        expect(names('PodDisruptionBudget')).toContain(name);
      }
    });

    it('scopes each Dapr component to the app-ids that use it (contracts topology and the services code)', () => {
      const deployed = serviceDeployments(objects()).map(appIdOf);
      for (const name of daprComponents) {
        // Scoped at all, and only to apps this release deploys.
        expect(scopesOf(objects(), name).length, name).toBeGreaterThan(0);
        for (const scope of scopesOf(objects(), name))
          expect(deployed, `${name} scope ${scope}`).toContain(scope);
      }
      // Each pub/sub component is its app's alone.
      for (const c of pubsubs(objects()))
        expect(c.scopes, c.metadata.name).toEqual([c.metadata.name.slice(7)]);
      const pubsubScopes = scopesOf(objects(), 'pubsub');
      for (const appId of appIds) {
        const { publishes, consumes } = topology[appId];
        if (publishes.length + consumes.length > 0)
          expect(pubsubScopes, `${appId} uses pubsub`).toContain(appId);
        for (const used of componentsUsedInCode(appId)) {
          expect(scopesOf(objects(), used), `${appId}'s code uses ${used}`).toContain(appId);
        }
      }
    });

    it('names the components the services are told to use', () => {
      for (const deployment of serviceDeployments(objects())) {
        const env = new Map(pod(deployment).containers[0]?.env?.map((e) => [e.name, e.value]));
        const appId = appIdOf(deployment) ?? '';
        if (pubsubOf(objects(), appId)) expect(env.get('PUBSUB_NAME')).toBe(`pubsub-${appId}`);
        expect(env.get('STATESTORE_NAME')).toBe('statestore');
        expect(env.get('LOCKSTORE_NAME')).toBe('lockstore');
      }
    });

    it('times invocation out, longer for the services that stream (SSE) than their longest stream', () => {
      const resiliency = objects().find((o) => o.kind === 'Resiliency');
      const spec = resiliency?.spec as {
        policies: { timeouts: Record<string, string> };
        targets: { apps: Record<string, { timeout: string }> };
      };
      for (const app of serviceDeployments(objects()).map((d) => appIdOf(d) ?? '')) {
        const wanted = (streamingApps as readonly string[]).includes(app) ? 'streamTimeout' : 'invokeTimeout';
        expect(spec.targets.apps[app]?.timeout, app).toBe(wanted);
      }
      const minutes = (d: string) =>
        Number.parseInt(d, 10) /
        ({ ms: 60_000, s: 60, m: 1, h: 1 / 60 }[d.replace(/^\d+/, '')] ?? Number.NaN);
      // queue's SSE_MAX_DURATION_MS is 10 minutes.
      expect(minutes(spec.policies.timeouts.streamTimeout ?? '')).toBeGreaterThan(10);
      expect(minutes(spec.policies.timeouts.invokeTimeout ?? '')).toBeLessThan(1);
    });

    it('reads every component credential through secretKeyRef', () => {
      const components = objects().filter((o) => o.kind === 'Component') as DaprComponent[];
      expect(components.length).toBeGreaterThan(daprComponents.length);
      for (const c of components) {
        const name = c.metadata.name;
        const secretFields = c.spec.metadata.filter((m) => /password|secret|token|cert/i.test(m.name));
        expect(secretFields.length, name).toBeGreaterThan(0);
        for (const field of secretFields) {
          expect(field.value, `${name}.${field.name} is inline`).toBeUndefined();
          expect(field.secretKeyRef?.name, `${name}.${field.name}`).toBeTruthy();
        }
      }
    });

    it('sets what the Kafka pub/sub needs: brokers, protocol version, message size, oldest offset', () => {
      const kafka = objects().find((o) => o.kind === 'Kafka');
      for (const pubsub of pubsubs(objects())) {
        const appId = pubsub.scopes?.[0] ?? '';
        expect(pubsub.spec.type).toBe('pubsub.kafka');
        expect(metadataValue(pubsub, 'version')?.value).toMatch(/^\d+\.\d+\.\d+$/);
        // Written as an integer: the sidecar parses it as one (helm prints a large number as 1.048588e+06).
        expect(metadataValue(pubsub, 'maxMessageBytes')?.value).toMatch(/^[1-9]\d*$/);
        expect(metadataValue(pubsub, 'initialOffset')?.value).toBe('oldest');
        if (!kafka) continue;
        // The TLS listener, the broker's certificate checked against the cluster CA.
        expect(metadataValue(pubsub, 'brokers')?.value).toMatch(
          new RegExp(`^${kafka.metadata.name}-kafka-bootstrap\\.reservex\\.svc:9093$`),
        );
        expect(metadataValue(pubsub, 'disableTls')).toBeUndefined();
        expect(metadataValue(pubsub, 'caCert')?.secretKeyRef).toEqual({
          name: `${kafka.metadata.name}-cluster-ca-cert`,
          key: 'ca.crt',
        });
        // The app's own KafkaUser; Strimzi writes its SASL password to a Secret of the same name.
        const user = kafkaUserOf(objects(), appId);
        expect(user, appId).toBeDefined();
        expect(metadataValue(pubsub, 'saslUsername')?.value).toBe(user?.metadata.name);
        expect(metadataValue(pubsub, 'saslPassword')?.secretKeyRef?.name).toBe(user?.metadata.name);
      }
      expect(component(objects(), 'statestore')?.spec.type).toBe('state.redis');
      expect(component(objects(), 'lockstore')?.spec.type).toBe('lock.redis');
    });

    it('lets each app do on Kafka what the topology says, as its own KafkaUser, over TLS only', () => {
      const kafka = objects().find((o) => o.kind === 'Kafka');
      if (!kafka) return expect(objects().filter((o) => o.kind === 'KafkaUser')).toEqual([]);
      const spec = kafka.spec as {
        kafka: {
          listeners: { tls: boolean; authentication?: { type: string } }[];
          authorization?: { type: string };
        };
      };
      expect(spec.kafka.listeners.map((l) => [l.tls, l.authentication?.type])).toEqual([
        [true, 'scram-sha-512'],
      ]);
      expect(spec.kafka.authorization?.type).toBe('simple');
      const users = objects().filter((o) => o.kind === 'KafkaUser');
      expect(users.length).toBe(pubsubs(objects()).length);
      for (const appId of appIds) {
        const { publishes, consumes } = topology[appId];
        const user = kafkaUserOf(objects(), appId);
        if (publishes.length + consumes.length === 0) {
          expect(user, appId).toBeUndefined();
          continue;
        }
        const acls = (user!.spec as { authorization: { type: string; acls: Acl[] } }).authorization;
        expect(acls.type).toBe('simple');
        const granted = (type: string, operation: string) =>
          acls.acls
            .filter((a) => a.resource.type === type && a.operations.includes(operation))
            .map((a) => a.resource.name)
            .sort();
        const deadLetters = consumes.length > 0 ? [DEAD_LETTER_TOPIC] : [];
        expect(granted('topic', 'Write'), `${appId} writes`).toEqual([...publishes, ...deadLetters].sort());
        const reads = [...consumes, ...(['query', 'reservation'].includes(appId) ? [DEAD_LETTER_TOPIC] : [])];
        expect(granted('topic', 'Read'), `${appId} reads`).toEqual([...reads].sort());
        expect(granted('group', 'Read'), `${appId} group`).toEqual(reads.length > 0 ? [appId] : []);
        for (const acl of acls.acls) {
          expect(acl.resource.patternType, `${appId} ${acl.resource.name}`).toBe('literal');
          expect(acl.type ?? 'allow').toBe('allow');
        }
      }
    });

    it('has a KafkaTopic for every topic a service publishes or consumes, and the dead-letter topic', () => {
      const kafka = objects().find((o) => o.kind === 'Kafka');
      const declared = objects().filter((o) => o.kind === 'KafkaTopic');
      const names = declared.map((t) => (t.spec as { topicName: string }).topicName);
      const used = new Set<string>([DEAD_LETTER_TOPIC]);
      for (const appId of appIds)
        for (const t of [...topology[appId].publishes, ...topology[appId].consumes]) used.add(t);
      for (const topic of used) expect(names, topic).toContain(topic);
      // No topic the contracts do not know.
      for (const name of names) expect([...topics, DEAD_LETTER_TOPIC] as string[], name).toContain(name);
      for (const topic of declared) {
        expect(topic.metadata.labels?.['strimzi.io/cluster']).toBe(kafka?.metadata.name);
        expect((topic.spec as { partitions: number }).partitions).toBeGreaterThan(0);
        expect((topic.spec as { config: Record<string, number> }).config['retention.ms']).toBeGreaterThan(0);
      }
    });

    it('runs Kafka in KRaft mode: a node pool with the controller role, no ZooKeeper', () => {
      const kafka = objects().find((o) => o.kind === 'Kafka')!;
      expect((kafka.spec as Record<string, unknown>).zookeeper).toBeUndefined();
      const pools = objects().filter(
        (o) =>
          o.kind === 'KafkaNodePool' && o.metadata.labels?.['strimzi.io/cluster'] === kafka.metadata.name,
      );
      expect(pools.flatMap((p) => (p.spec as { roles: string[] }).roles)).toContain('controller');
    });

    it('gives each service with a database its own database and login role', () => {
      // The services' cluster (the card sandbox's ledger has a Postgres of its own).
      const cluster = objects().find((o) => o.kind === 'Cluster' && o.metadata.name.endsWith('-postgres'))!;
      const roles = (cluster.spec as { managed: { roles: { name: string }[] } }).managed.roles.map(
        (r) => r.name,
      );
      const databases = objects()
        .filter((o) => o.kind === 'Database')
        .map((o) => o.spec as { name: string; owner: string });
      for (const deployment of serviceDeployments(objects())) {
        const env = pod(deployment).containers[0]?.env ?? [];
        const url = env.find((e) => e.name === 'DATABASE_URL')?.value;
        const appId = appIdOf(deployment)!;
        if (!url) {
          expect(appId).toBe('gateway');
          continue;
        }
        expect(url).toMatch(new RegExp(`^postgres://${appId}:\\$\\(DATABASE_PASSWORD\\)@[^/]+/${appId}\\?`));
        expect(roles).toContain(appId);
        expect(databases).toContainEqual({
          ...databases.find((d) => d.name === appId),
          name: appId,
          owner: appId,
        });
      }
    });

    it('traces through Dapr with sampling on, to an OTLP endpoint', () => {
      const configuration = objects().find((o) => o.kind === 'Configuration')!;
      const tracing = (
        configuration.spec as { tracing: { samplingRate: string; otel: { endpointAddress: string } } }
      ).tracing;
      expect(Number(tracing.samplingRate)).toBeGreaterThan(0);
      expect(tracing.otel.endpointAddress).toMatch(/^[a-z0-9.-]+:\d+$/);
    });

    it('references only Secrets the release renders or the values name as existing', () => {
      const rendered = new Set(
        objects()
          .filter((o) => o.kind === 'Secret')
          .map((o) => o.metadata.name),
      );
      const values = readYamlFile<{ secrets?: { existingSecret?: string } }>(
        which === 'default' ? join(chartDir, 'values.yaml') : join(chartDir, 'values-production.yaml'),
      );
      if (values.secrets?.existingSecret) rendered.add(values.secrets.existingSecret);
      for (const user of objects().filter((o) => o.kind === 'KafkaUser')) rendered.add(user.metadata.name);
      for (const workload of workloads(objects())) {
        for (const c of pod(workload).containers) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref) expect(rendered, `${workload.metadata.name} ${e.name}`).toContain(ref.name);
          }
        }
      }
    });

    it('names each variable once per container (the API server refuses a server-side apply otherwise)', () => {
      for (const workload of workloads(objects())) {
        for (const c of [...pod(workload).containers, ...(pod(workload).initContainers ?? [])]) {
          const names = (c.env ?? []).map((e) => e.name);
          const twice = names.filter((name, i) => names.indexOf(name) !== i);
          expect(twice, `${workload.metadata.name} ${c.name}`).toEqual([]);
        }
      }
    });

    it('runs migrations as a Helm hook Job with the service image and its migrate script', () => {
      const jobs = objects().filter((o) => o.kind === 'Job' && o.metadata.name.endsWith('-migrate'));
      expect(jobs.length).toBe(serviceDeployments(objects()).filter((d) => appIdOf(d) !== 'gateway').length);
      for (const job of jobs) {
        expect(job.metadata.annotations?.['helm.sh/hook']).toContain('pre-upgrade');
        const [c] = pod(job).containers;
        const appId = job.metadata.labels?.['app.kubernetes.io/name'];
        expect(c?.command).toEqual(migrateCommandOf(appId as AppId));
        // No sidecar: it would keep the Job from completing.
        expect(
          (job.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata
            .annotations?.['dapr.io/enabled'],
        ).toBeUndefined();
      }
    });

    it('runs only scripts that exist: in the service image, or in the ConfigMap a stock-image pod mounts', () => {
      // A hook whose script is missing fails `helm install` (post-install) on a real cluster.
      const configMaps = objects().filter((o) => o.kind === 'ConfigMap') as (K8sObject & {
        data?: Record<string, string>;
      })[];
      let checked = 0;
      for (const workload of workloads(objects())) {
        const spec = pod(workload) as PodSpec & {
          volumes?: { name: string; configMap?: { name: string } }[];
        };
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          const [program, script] = c.command ?? [];
          if (program !== 'node' || !script || script.startsWith('-')) continue;
          checked += 1;
          const where = `${workload.metadata.name}/${c.name}: ${script}`;
          const mount = c.volumeMounts?.find((m) => script.startsWith(`${m.mountPath}/`));
          if (mount) {
            const volume = spec.volumes?.find((v) => v.name === mount.name);
            const data = configMaps.find((m) => m.metadata.name === volume?.configMap?.name)?.data;
            expect(Object.keys(data ?? {}), where).toContain(script.slice(mount.mountPath.length + 1));
          } else {
            expect(existsSync(join(repoRoot, script)), where).toBe(true);
          }
        }
      }
      expect(checked).toBeGreaterThan(0);
    });

    it("turns off the sidecar's built-in Kubernetes secret store in every Dapr pod without a token", () => {
      // daprd loads that store first with the pod's service account token and exits without one.
      const daprPods = workloads(objects()).filter(
        (w) => templateOf(w).annotations?.['dapr.io/enabled'] === 'true',
      );
      expect(daprPods.length).toBeGreaterThan(0);
      for (const w of daprPods) {
        if (pod(w).automountServiceAccountToken === false) {
          expect(
            templateOf(w).annotations?.['dapr.io/disable-builtin-k8s-secret-store'],
            w.metadata.name,
          ).toBe('true');
        }
      }
    });

    it("keeps the sidecar serving while the app drains, all within the pod's grace period", () => {
      for (const deployment of serviceDeployments(objects())) {
        const a = templateOf(deployment).annotations ?? {};
        const where = deployment.metadata.name;
        const block = seconds(a['dapr.io/block-shutdown-duration'] ?? '');
        const graceful = Number(a['dapr.io/graceful-shutdown-seconds']);
        const drain =
          Number(pod(deployment).containers[0]?.env?.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value) /
          1000;
        expect(drain, where).toBeGreaterThan(0);
        expect(block, where).toBeGreaterThan(drain);
        expect(pod(deployment).terminationGracePeriodSeconds ?? 30, where).toBeGreaterThan(block + graceful);
      }
    });

    it('tells each sidecar a Go memory limit below its container limit, and opens its metrics port to monitoring', () => {
      const policies = objects().filter((o) => o.kind === 'NetworkPolicy');
      for (const deployment of serviceDeployments(objects())) {
        const a = templateOf(deployment).annotations ?? {};
        const where = deployment.metadata.name;
        const goMemLimit = /^GOMEMLIMIT=(\d+)(MiB|GiB)$/.exec(a['dapr.io/env'] ?? '');
        expect(goMemLimit, where).not.toBeNull();
        const bytes = Number(goMemLimit?.[1]) * (goMemLimit?.[2] === 'GiB' ? 2 ** 30 : 2 ** 20);
        const limit = quantity(a['dapr.io/sidecar-memory-limit']);
        expect(bytes, where).toBeLessThan(limit);
        expect(bytes, where).toBeGreaterThan(limit * 0.75);
        const metricsPort = Number(a['dapr.io/metrics-port']);
        const policy = policies.find((p) => p.metadata.name === deployment.metadata.name);
        const ingress =
          (
            policy?.spec as
              | {
                  ingress: {
                    from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
                    ports: { port: number }[];
                  }[];
                }
              | undefined
          )?.ingress ?? [];
        expect(
          ingress.some(
            (rule) =>
              rule.ports.some((p) => p.port === metricsPort) &&
              rule.from?.some(
                (f) => f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'monitoring',
              ),
          ),
          where,
        ).toBe(true);
      }
    });

    it('starts no sidecar that loads the pubsub component before the Kafka password Secret exists', () => {
      for (const deployment of serviceDeployments(objects())) {
        const spec = pod(deployment);
        const pubsub = pubsubOf(objects(), appIdOf(deployment) ?? '');
        const secret = pubsub && metadataValue(pubsub, 'saslPassword')?.secretKeyRef;
        const volume = spec.volumes?.find((v) => v.secret && v.name === 'kafka-user');
        if (!pubsub) {
          expect(volume, deployment.metadata.name).toBeUndefined();
          continue;
        }
        expect(secret?.name, deployment.metadata.name).toBeTruthy();
        // A Secret volume the kubelet must mount before it starts any container of the pod.
        expect(volume?.secret?.secretName, deployment.metadata.name).toBe(secret?.name);
        expect(
          volume?.secret?.items?.map((i) => i.key),
          deployment.metadata.name,
        ).toEqual([secret?.key]);
        const mounted = [...(spec.initContainers ?? []), ...spec.containers].some((c) =>
          c.volumeMounts?.some((m) => m.name === volume?.name),
        );
        expect(mounted, deployment.metadata.name).toBe(true);
      }
    });

    it('gives no Job pod labels that a Deployment, PodDisruptionBudget or Service selects', () => {
      const selecting = objects().filter((o) => ['Deployment', 'PodDisruptionBudget'].includes(o.kind));
      const services = objects().filter((o) => o.kind === 'Service');
      const jobs = objects().filter((o) => o.kind === 'Job');
      expect(jobs.length).toBeGreaterThan(0);
      for (const job of jobs) {
        const labels = templateOf(job).labels;
        for (const o of selecting) {
          const selector = selectorOf(o);
          expect(selector, o.metadata.name).toBeDefined();
          expect(
            matches(selector ?? {}, labels),
            `${job.metadata.name} vs ${o.kind}/${o.metadata.name}`,
          ).toBe(false);
        }
        for (const service of services) {
          const selector = (service.spec as { selector?: Record<string, string> }).selector ?? {};
          expect(matches(selector, labels), `${job.metadata.name} vs Service/${service.metadata.name}`).toBe(
            false,
          );
        }
      }
    });

    // Once, with the default values: each render takes a while.
    if (which === 'default')
      it('restarts a service when a secret it reads changes, and only then (checksums)', async () => {
        const seeded = async (extra: string[]) =>
          parseObjects(
            await renderYamlAsync(
              which === 'default' ? [valuesFiles.default] : [valuesFiles.default, valuesFiles.production],
              ['--set', `secrets.seed=${'s'.repeat(40)}`, ...extra],
            ),
          );
        const checksums = (objs: K8sObject[]) =>
          new Map(
            serviceDeployments(objs).map((d) => [
              appIdOf(d),
              templateOf(d).annotations?.['checksum/secrets'],
            ]),
          );
        const base = checksums(await seeded([]));
        for (const value of base.values()) expect(value).toMatch(/^[0-9a-f]{16}$/);
        const otherSeed = checksums(await seeded(['--set', `secrets.seed=${'t'.repeat(40)}`]));
        for (const [app, value] of otherSeed) expect(value, app).not.toBe(base.get(app));
        // A new Redis password restarts Redis's clients, and nothing else.
        const redisObjects = await seeded(['--set', `redis.password=${'r'.repeat(40)}`]);
        const redis = checksums(redisObjects);
        for (const deployment of serviceDeployments(redisObjects)) {
          const app = appIdOf(deployment);
          const usesRedis = pod(deployment).containers[0]?.env?.some((e) => e.name === 'REDIS_URL');
          if (usesRedis) expect(redis.get(app), app).not.toBe(base.get(app));
          else expect(redis.get(app), app).toBe(base.get(app));
        }
      });

    it('pins every image', () => {
      for (const workload of workloads(objects())) {
        for (const c of pod(workload).containers) expect(isPinnedImage(c.image), c.image).toBe(true);
      }
      const cluster = objects().find((o) => o.kind === 'Cluster');
      if (cluster) expect(isPinnedImage((cluster.spec as { imageName: string }).imageName)).toBe(true);
      const kafka = objects().find((o) => o.kind === 'Kafka');
      expect((kafka?.spec as { kafka: { version: string } } | undefined)?.kafka.version).toMatch(
        /^\d+\.\d+\.\d+$/,
      );
    });
  });
}

describe('production placement', () => {
  it('spreads the replicas of each service apart, not the services from each other', () => {
    for (const deployment of serviceDeployments(render('production'))) {
      const terms =
        pod(deployment).affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(terms.length, deployment.metadata.name).toBeGreaterThan(0);
      for (const { podAffinityTerm } of terms) {
        expect(podAffinityTerm.labelSelector.matchLabels, deployment.metadata.name).toEqual(
          selectorOf(deployment),
        );
      }
    }
  });
});

describe('requests of the default install on a 2-CPU kind node', () => {
  it("fit next to Kubernetes' own pods and the operators, with room for a rolling update", () => {
    const objects = render('default');
    let cpu = 0;
    let memory = 0;
    for (const w of workloads(objects).filter((o) => o.kind !== 'Job')) {
      const replicas = (w.spec as { replicas?: number }).replicas ?? 1;
      for (const c of pod(w).containers) {
        cpu += quantity(c.resources?.requests?.cpu) * replicas;
        memory += quantity(c.resources?.requests?.memory) * replicas;
      }
    }
    const made = operatorMadeRequests(objects);
    const reserved = reservedRequests();
    const free = {
      cpu: quantity(kindNode.cpu) - reserved.cpu - made.cpu - cpu,
      memory: quantity(kindNode.memory) - reserved.memory - made.memory - memory,
    };
    // The largest service pod (app and sidecar) must fit once more: maxSurge 1 during a rollout.
    const surge = Math.max(
      ...serviceDeployments(objects).map(
        (d) =>
          quantity(pod(d).containers[0]?.resources?.requests?.cpu) +
          quantity(templateOf(d).annotations?.['dapr.io/sidecar-cpu-request']),
      ),
    );
    expect(free.cpu, `CPU left on the node: ${free.cpu.toFixed(3)}`).toBeGreaterThanOrEqual(surge);
    expect(free.memory, 'memory left on the node').toBeGreaterThan(0);
  });
});

describe('the read-model rebuild Job (queryRebuild)', () => {
  const rebuildValues = ['--set', 'queryRebuild.enabled=true', '--set', 'queryRebuild.id=r20261121'];
  const rendered = () => parseObjects(renderYaml([valuesFiles.default], rebuildValues));
  const annotationsOf = (o: K8sObject) =>
    (
      o.spec as {
        template: { metadata: { annotations: Record<string, string>; labels: Record<string, string> } };
      }
    ).template.metadata;
  const envOf = (c: Container | undefined) => new Map(c?.env?.map((e) => [e.name, e.value ?? e.valueFrom]));

  it('is not rendered unless asked for', () => {
    const objects = render('default');
    expect(objects.filter((o) => o.metadata.name.includes('query-rebuild'))).toEqual([]);
    expect(scopesOf(objects, 'pubsub').some((s) => s.startsWith('query-rebuild'))).toBe(false);
    expect(
      objects.filter((o) => o.kind === 'KafkaUser' && o.metadata.name.includes('query-rebuild')),
    ).toEqual([]);
  });

  it('runs the query image in rebuild mode beside a sidecar whose app-id is a fresh consumer group', () => {
    const objects = rendered();
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name.endsWith('query-rebuild-r20261121'));
    expect(job).toBeDefined();
    const template = annotationsOf(job!);
    expect(template.annotations['dapr.io/enabled']).toBe('true');
    expect(template.annotations['dapr.io/app-id']).toBe('query-rebuild-r20261121');
    // Not query's selector labels: the query Service must never route requests to it.
    const queryService = objects.find(
      (o) => o.kind === 'Service' && o.metadata.labels?.['app.kubernetes.io/name'] === 'query',
    );
    const querySelector = (queryService?.spec as { selector: Record<string, string> } | undefined)?.selector;
    expect(querySelector).toBeDefined();
    expect(Object.entries(querySelector ?? {}).every(([k, v]) => template.labels[k] === v)).toBe(false);
    const spec = job!.spec as { backoffLimit: number; template: { spec: { restartPolicy: string } } };
    expect([spec.backoffLimit, spec.template.spec.restartPolicy]).toEqual([0, 'Never']);

    const [c] = pod(job!).containers;
    const queryDeployment = serviceDeployments(objects).find((d) => appIdOf(d) === 'query')!;
    expect(c?.image).toBe(pod(queryDeployment).containers[0]?.image);
    const names = c?.env?.map((e) => e.name) ?? [];
    expect(names.length, 'each variable once').toBe(new Set(names).size);
    const env = envOf(c);
    expect(env.get('QUERY_MODE')).toBe('rebuild');
    expect(env.get('REBUILD_TRUNCATE')).toBe('true');
    expect(env.get('REBUILD_EXIT_IDLE_MS')).toBe('30000');
    expect(env.get('PROJECTION_CONSUMER')).toBe('query.rebuild.r20261121');
    expect(env.get('PUBSUB_NAME')).toBe('pubsub-query-rebuild-r20261121');
    // The live query service's database.
    expect(env.get('DATABASE_URL')).toEqual(envOf(pod(queryDeployment).containers[0]).get('DATABASE_URL'));

    // A pub/sub component of its own (its consumer group is its app-id), as a Kafka user that reads
    // what query reads, as its own group; no other component takes it in.
    const pubsub = pubsubOf(objects, 'query-rebuild-r20261121');
    expect(pubsub?.scopes).toEqual(['query-rebuild-r20261121']);
    expect(metadataValue(pubsub!, 'consumerGroup')?.value).toBe('{appID}');
    const acls = (kafkaUserOf(objects, 'query-rebuild-r20261121')!.spec as { authorization: { acls: Acl[] } })
      .authorization.acls;
    expect(acls.filter((a) => a.resource.type === 'group').map((a) => a.resource.name)).toEqual([
      'query-rebuild-r20261121',
    ]);
    expect(acls.filter((a) => a.operations.includes('Read') && a.resource.type === 'topic').length).toBe(
      topology.query.consumes.length + 1,
    );
    expect(component(objects, 'statestore')?.scopes).not.toContain('query-rebuild-r20261121');

    // Its sidecar gets the same delivery retries as query's, and starts without a service account token.
    const resiliency = objects.find((o) => o.kind === 'Resiliency') as { scopes?: string[] } | undefined;
    expect(resiliency?.scopes).toContain('query-rebuild-r20261121');
    expect(pod(job!).automountServiceAccountToken).toBe(false);
    expect(template.annotations['dapr.io/disable-builtin-k8s-secret-store']).toBe('true');
  });

  it('refuses to render without an id, with a bad id, or when a fresh group would start at the newest event', () => {
    expect(() => renderYaml([valuesFiles.default], ['--set', 'queryRebuild.enabled=true'])).toThrow(
      /queryRebuild.id is required/,
    );
    expect(() =>
      renderYaml(
        [valuesFiles.default],
        ['--set', 'queryRebuild.enabled=true', '--set', 'queryRebuild.id=Bad_Id'],
      ),
    ).toThrow(/queryRebuild\/id/);
    expect(() =>
      renderYaml([valuesFiles.default], [...rebuildValues, '--set', 'dapr.pubsub.initialOffset=newest']),
    ).toThrow(/initialOffset=oldest/);
  });
});

describe('pinned versions outside the chart', () => {
  it('versions the chart with semver', () => {
    const chart = readYamlFile<{ version: string; appVersion: string; kubeVersion: string }>(
      join(chartDir, 'Chart.yaml'),
    );
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.kubeVersion).toBeTruthy();
  });

  it('pins the operators the bootstrap installs and the kind node image', () => {
    const bootstrap = readFileSync(join(repoRoot, 'k8s/bootstrap.sh'), 'utf8');
    for (const name of ['DAPR_VERSION', 'STRIMZI_VERSION', 'CNPG_VERSION']) {
      expect(bootstrap).toMatch(new RegExp(`^${name}=\\d+\\.\\d+\\.\\d+$`, 'm'));
    }
    expect(bootstrap).not.toMatch(/latest/);
    const dapr = /^DAPR_VERSION=(.+)$/m.exec(bootstrap)?.[1];
    expect(`v${dapr}`, 'the Dapr the chart is checked against').toBe(
      /^DAPR_VERSION=(.+)$/m.exec(readFileSync(join(import.meta.dirname, 'tools/provision.sh'), 'utf8'))?.[1],
    );
    const kind = readYamlFile<{ nodes: { image: string }[] }>(join(repoRoot, 'k8s/kind-config.yaml'));
    // By digest: a tag of kind's node image can be pushed again.
    for (const node of kind.nodes)
      expect(node.image, node.image).toMatch(/^kindest\/node:v[\d.]+@sha256:[a-f0-9]{64}$/);
  });

  /** How the Dockerfile refers to an argument or variable: ${NAME}. */
  const ref = (name: string) => `\${${name}}`;

  it('builds every service image from one Dockerfile, the service chosen by a build argument', () => {
    const dockerfile = readDockerfile();
    for (const entry of readdirSync(join(repoRoot, 'services')))
      expect(existsSync(join(repoRoot, 'services', entry, 'Dockerfile')), `services/${entry}`).toBe(false);
    for (const appId of appIds) {
      const manifest = JSON.parse(readFileSync(join(repoRoot, 'services', appId, 'package.json'), 'utf8'));
      expect(manifest.name, 'the package SERVICE names').toBe(`@reservex/${appId}`);
    }
    expect(argsOf(stageOf(dockerfile, 'prune'), 'RUN')).toContain(
      `turbo prune "@reservex/${ref('SERVICE')}" --docker --out-dir /pruned`,
    );
    // A build argument is visible only in the stages that declare it.
    for (const stage of dockerfile.stages) {
      if (!stage.instructions.some((i) => i.args.includes(ref('SERVICE')))) continue;
      expect(argsOf(stage, 'ARG'), stage.name).toContain('SERVICE');
    }
    for (const name of ['dev', 'runtime']) {
      const stage = stageOf(dockerfile, name);
      expect(envOf(stage).RESERVEX_SERVICE, name).toBe(ref('SERVICE'));
      expect(cmdOf(stage).join(' '), name).toContain(`services/${ref('RESERVEX_SERVICE')}/src/main.ts`);
    }
  });

  it('builds the images with any OCI builder: no BuildKit frontend or BuildKit-only syntax', () => {
    const { text } = readDockerfile();
    // A `# syntax=` line makes BuildKit download a frontend image before it builds anything.
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
    expect(text).not.toMatch(/^RUN\s+--(mount|network|security)/m);
    expect(text).not.toMatch(/<<\s*-?["']?[A-Z]+/);
  });

  it('builds from a pinned Node 24 and a pinned turbo, and runs the image as uid 1000 without npm', () => {
    const nvmrc = readFileSync(join(repoRoot, '.nvmrc'), 'utf8').trim();
    const dockerfile = readDockerfile();
    expect(dockerfile.globalArgs.map((a) => a.args)).toContainEqual(
      expect.stringMatching(new RegExp(`^NODE_IMAGE=node:${nvmrc.replaceAll('.', '\\.')}-`)),
    );
    expect(argsOf(stageOf(dockerfile, 'prune'), 'RUN').join('\n')).toMatch(/turbo@\d+\.\d+\.\d+/);
    const runtime = dockerfile.stages.at(-1)!;
    expect(runtime.name, 'the default target is the last stage').toBe('runtime');
    expect(runtime.base).toBe(ref('NODE_IMAGE'));
    expect(argsOf(runtime, 'USER')).toEqual(['1000:1000']);
    expect(argsOf(runtime, 'RUN').join('\n')).toMatch(/rm -rf \/usr\/local\/lib\/node_modules/);
  });

  it("gives the dev stage's working directory to the runtime user, so live update syncs instead of rebuilding", () => {
    const dev = stageOf(readDockerfile(), 'dev');
    const [user] = argsOf(dev, 'USER');
    const [workdir] = argsOf(dev, 'WORKDIR');
    expect(user).toBe('1000:1000');
    const [uid, gid] = user!.split(':');
    // WORKDIR creates a missing directory as root: it must exist, owned by the user, before it.
    const index = (keyword: string) => dev.instructions.findIndex((i) => i.keyword === keyword);
    const created = dev.instructions.findIndex(
      (i) => i.keyword === 'RUN' && i.args === `install -d -o ${uid} -g ${gid} ${workdir}`,
    );
    expect(created, `RUN install -d -o ${uid} -g ${gid} ${workdir}`).toBeGreaterThanOrEqual(0);
    expect(created).toBeLessThan(index('WORKDIR'));
    for (const copy of argsOf(dev, 'COPY')) expect(copy).toContain(`--chown=${user}`);
  });

  it('documents the topics whose names the chart lists in the Tiltfile as the chart renders them', () => {
    const tiltfile = readFileSync(join(repoRoot, 'Tiltfile'), 'utf8');
    for (const topic of [...topics, DEAD_LETTER_TOPIC] as (Topic | string)[])
      expect(tiltfile).toContain(`'${topic}'`);
  });
});

describe('k8s/bootstrap.sh', () => {
  const bootstrap = () => readFileSync(join(repoRoot, 'k8s/bootstrap.sh'), 'utf8');

  it('installs Dapr without the scheduler and placement, which ReserveX does not use', () => {
    expect(bootstrap()).toContain('--set global.scheduler.enabled=false');
    expect(bootstrap()).toContain('--set global.actors.enabled=false');
  });

  it("applies the pinned operators' CRDs on every run, before their charts (helm never updates CRDs)", () => {
    const text = bootstrap();
    for (const chart of ['dapr --repo', 'oci://quay.io/strimzi-helm/strimzi-kafka-operator']) {
      const crds = text.indexOf(`crds ${chart}`);
      expect(crds, chart).toBeGreaterThan(0);
      expect(text.indexOf(`helm upgrade --install`, crds), chart).toBeGreaterThan(crds);
    }
  });

  it('keeps the Strimzi CRDs the API-server check installs at the version it installs', () => {
    const version = /^STRIMZI_VERSION=(.+)$/m.exec(bootstrap())?.[1];
    expect(existsSync(join(import.meta.dirname, `testdata/strimzi-crds-${version}/SOURCE.md`))).toBe(true);
  });
});

describe('generated secrets', () => {
  const seed = 'x'.repeat(48);
  const secretData = (objects: K8sObject[], name: string) =>
    (
      objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as
        | { data?: Record<string, string> }
        | undefined
    )?.data;

  it('renders the same Secrets from the same seed, whatever renders them (helm template, Tilt)', async () => {
    const a = await renderYamlAsync([valuesFiles.default], ['--set', `secrets.seed=${seed}`]);
    const b = await renderYamlAsync([valuesFiles.default], ['--set', `secrets.seed=${seed}`]);
    expect(b).toBe(a);
    const objects = parseObjects(a);
    expect(Buffer.from(secretData(objects, 'reservex-secrets-seed')?.seed ?? '', 'base64').toString()).toBe(
      seed,
    );
  });

  it('derives every generated password and key from the seed, each different', async () => {
    const objects = parseObjects(
      await renderYamlAsync([valuesFiles.default], ['--set', `secrets.seed=${seed}`]),
    );
    const values = [
      secretData(objects, 'reservex-redis')?.['redis-password'],
      secretData(objects, 'reservex-app')?.['pass-token-secret'],
      secretData(objects, 'reservex-app')?.['ticket-signing-secret'],
      ...objects
        .filter((o) => o.kind === 'Secret' && o.metadata.name.startsWith('reservex-db-'))
        .map((o) => (o as { data?: Record<string, string> }).data?.password),
    ];
    expect(values.length).toBe(3 + appIds.filter((id) => id !== 'gateway').length);
    const plain = values.map((v) => Buffer.from(v ?? '', 'base64').toString());
    for (const value of plain) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(plain).size).toBe(plain.length);
    // Another seed, other secrets.
    const other = parseObjects(
      await renderYamlAsync([valuesFiles.default], ['--set', `secrets.seed=${'y'.repeat(48)}`]),
    );
    expect(secretData(other, 'reservex-redis')?.['redis-password']).not.toBe(values[0]);
  });

  it('keeps the seed across an uninstall, and a value given explicitly wins', async () => {
    const objects = parseObjects(
      await renderYamlAsync(
        [valuesFiles.default],
        ['--set', `secrets.seed=${seed}`, '--set', `redis.password=${'p'.repeat(32)}`],
      ),
    );
    const seedSecret = objects.find((o) => o.metadata.name === 'reservex-secrets-seed');
    expect(seedSecret?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(
      Buffer.from(secretData(objects, 'reservex-redis')?.['redis-password'] ?? '', 'base64').toString(),
    ).toBe('p'.repeat(32));
  });
});

// The chart against a real API server (Level 1): etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler of Kubernetes 1.34, one kwok node the size of a 2-CPU kind node less what runs there
// besides ReserveX, and the real CRDs of Dapr, CloudNativePG and Strimzi. What it shows that the offline
// checks cannot: the API server accepts every object (schemas, CEL rules, defaults) and admits every pod
// (restricted Pod Security, Dapr's secret-store rule), helm installs and upgrades the release, an upgrade
// with the same values changes nothing, the scheduler places every pod, and the PodDisruptionBudgets
// hold while the hook Jobs run. What it cannot: no container runs (kwok plays the kubelet), no operator
// reconciles (no Kafka, no Postgres), no Dapr sidecar is injected.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ControlPlane, type ControlPlaneTools, JOB_POD_RELEASE, type NodeSize } from './control-plane.ts';
import { kindNode, operatorMadeRequests, quantity, reservedRequests } from './node.ts';
import {
  CONTROL_PLANE_PROVISION_TIMEOUT_MS,
  chartDir,
  type K8sObject,
  parseObjects,
  podSpecOf,
  provisionControlPlaneTools,
  type RunResult,
  render,
  renderYaml,
  valuesFiles,
} from './tools.ts';

const NAMESPACE = 'reservex';
const RELEASE = 'reservex';
const NODE = 'kind-reservex';

let cp: ControlPlane;
let tools: ControlPlaneTools;
let node: NodeSize;

interface Listed<T> {
  items: T[];
}
interface Live {
  kind: string;
  metadata: { name: string; generation?: number; annotations?: Record<string, string> };
}

/**
 * daprd in Kubernetes mode loads its built-in Kubernetes secret store with the pod's service account
 * token first and exits when there is none, unless told not to: such a pod never becomes ready. This
 * admission policy refuses that pod outright, so an install of a chart that forgets the annotation fails
 * here as it would on a real cluster.
 */
const DAPR_POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: daprd-starts-without-a-token }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - { apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods] }
  validations:
    - expression: >-
        !has(object.metadata.annotations) ||
        !('dapr.io/enabled' in object.metadata.annotations) ||
        object.metadata.annotations['dapr.io/enabled'] != 'true' ||
        !has(object.spec.automountServiceAccountToken) ||
        object.spec.automountServiceAccountToken ||
        ('dapr.io/disable-builtin-k8s-secret-store' in object.metadata.annotations &&
          object.metadata.annotations['dapr.io/disable-builtin-k8s-secret-store'] == 'true')
      message: >-
        a Dapr pod without a service account token needs dapr.io/disable-builtin-k8s-secret-store: "true"
        (daprd would exit initialising its Kubernetes secret store)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: daprd-starts-without-a-token }
spec:
  policyName: daprd-starts-without-a-token
  validationActions: [Deny]
`;

/**
 * Waits until the API server enforces the policy (its informers pick it up asynchronously): a Dapr pod
 * without a token and without the annotation is refused, the same pod with it is accepted.
 */
async function policyInForce(): Promise<void> {
  const pod = (annotations: Record<string, string>) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dapr-policy-probe', namespace: 'default', annotations },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'probe:1' }] },
    });
  const dryRun = ['create', '--dry-run=server', '-o', 'name', '-f', '-'];
  await vi.waitFor(
    async () => {
      const refused = await cp.kubectl(dryRun, pod({ 'dapr.io/enabled': 'true' }));
      expect(refused.status, 'the Dapr policy refuses the pod').not.toBe(0);
      expect(refused.stderr).toContain('disable-builtin-k8s-secret-store');
    },
    { timeout: 30_000, interval: 250 },
  );
  await cp.kubectlOk(
    dryRun,
    pod({ 'dapr.io/enabled': 'true', 'dapr.io/disable-builtin-k8s-secret-store': 'true' }),
  );
}

/** Groups the API server serves itself; every other group the chart renders needs its CRD. */
const BUILT_IN_GROUPS = new Set(['', 'apps', 'batch', 'policy', 'autoscaling']);

/**
 * The CRDs of every custom kind the default and the production render use: Dapr's and CloudNativePG's
 * from their pinned modules (tools/provision.sh), Strimzi's from the pinned copy in testdata. Only
 * those, which keeps the API server's start cheap; a kind without a CRD fails the check.
 */
function crdsOfRenderedKinds(): string {
  const strimzi = readdirSync(join(import.meta.dirname, 'testdata')).find((d) =>
    d.startsWith('strimzi-crds-'),
  );
  if (!strimzi) throw new Error('testdata/strimzi-crds-<version> is missing');
  const available = new Map<string, K8sObject>();
  for (const dir of [tools.daprCrds, tools.cnpgCrds, join(import.meta.dirname, 'testdata', strimzi)]) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      for (const crd of parseObjects(readFileSync(join(dir, file), 'utf8'))) {
        const spec = crd.spec as { group: string; names: { kind: string } } | undefined;
        if (crd.kind === 'CustomResourceDefinition' && spec)
          available.set(`${spec.group}/${spec.names.kind}`, crd);
      }
    }
  }
  const wanted = new Map<string, K8sObject>();
  for (const o of [...render('default'), ...render('production')]) {
    const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
    if (BUILT_IN_GROUPS.has(group) || group.endsWith('.k8s.io')) continue;
    const crd = available.get(`${group}/${o.kind}`);
    if (!crd) throw new Error(`no CRD for ${o.apiVersion} ${o.kind}`);
    wanted.set(`${group}/${o.kind}`, crd);
  }
  return [...wanted.values()].map((crd) => JSON.stringify(crd)).join('\n---\n');
}

interface CrdStatus {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Waits (bounded) until the API server serves every CRD (`kubectl wait` fails on a CRD that has no
 *  conditions yet, right after it was created). */
async function crdsEstablished(): Promise<void> {
  await vi.waitFor(
    async () => {
      const crds = await cp.api<Listed<CrdStatus>>(
        'GET',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      );
      expect(crds.status).toBe(200);
      expect(crds.body.items, 'CRDs').not.toEqual([]);
      const pending = crds.body.items
        .filter((c) => !c.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True'))
        .map((c) => c.metadata.name);
      expect(pending, 'CRDs not established yet').toEqual([]);
    },
    { timeout: 120_000, interval: 250 },
  );
}

/** A namespace that enforces the restricted Pod Security Standard, for the pods' admission check. */
const RESTRICTED_NAMESPACE = 'reservex-restricted';

/** The pod a workload (or a bare Pod) would create, as the API server would be asked for it. */
function podOf(workload: K8sObject): K8sObject | undefined {
  const spec = podSpecOf(workload);
  if (!spec) return undefined;
  const template = (workload.spec as { template?: { metadata?: K8sObject['metadata'] } } | undefined)
    ?.template;
  const metadata = workload.kind === 'Pod' ? workload.metadata : (template?.metadata ?? { name: '' });
  // A StatefulSet's claims become volumes of its pods.
  const claims = (
    (workload.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] } | undefined)
      ?.volumeClaimTemplates ?? []
  ).map((c) => ({
    name: c.metadata.name,
    persistentVolumeClaim: { claimName: `${c.metadata.name}-${workload.metadata.name}-0` },
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...metadata,
      name: `${workload.metadata.name}-check`.slice(0, 63),
      namespace: RESTRICTED_NAMESPACE,
    },
    spec: { ...spec, volumes: [...((spec.volumes as unknown[] | undefined) ?? []), ...claims] },
  };
}

/** A volume for Redis's claim (no provisioner runs here). */
const REDIS_VOLUME = `apiVersion: v1
kind: PersistentVolume
metadata: { name: reservex-check-redis }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ""
  hostPath: { path: /var/lib/reservex-check/redis }
`;

const mcpu = (cores: number) => `${Math.floor(cores * 1000)}m`;
const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)}Mi`;

beforeAll(async () => {
  tools = await provisionControlPlaneTools<ControlPlaneTools>();
  // The node's allocatable: the kind node less Kubernetes' own pods, the operators, and the pods the
  // release brings that no controller here makes (sidecars, Kafka, Postgres).
  const reserved = reservedRequests();
  const made = operatorMadeRequests(render('default'));
  node = {
    name: NODE,
    capacity: { cpu: kindNode.cpu, memory: kindNode.memory, pods: kindNode.pods },
    allocatable: {
      cpu: mcpu(quantity(kindNode.cpu) - reserved.cpu - made.cpu),
      memory: mib(quantity(kindNode.memory) - reserved.memory - made.memory),
      pods: kindNode.pods,
    },
  };
  cp = new ControlPlane(tools);
  const started = Date.now();
  try {
    await cp.startAll(node);
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], crdsOfRenderedKinds(), 180_000);
    await crdsEstablished();
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], DAPR_POLICY);
    await policyInForce();
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], REDIS_VOLUME);
    await cp.kubectlOk(['create', 'namespace', NAMESPACE]);
    await cp.kubectlOk(['create', 'namespace', RESTRICTED_NAMESPACE]);
    await cp.kubectlOk([
      'label',
      'namespace',
      RESTRICTED_NAMESPACE,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=v1.34',
    ]);
    console.warn(`control plane up with the CRDs in ${Math.round((Date.now() - started) / 1000)}s`);
  } catch (error) {
    const logs = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']
      .map((name) => `--- ${name}\n${cp.logTail(name, 15)}`)
      .join('\n');
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
}, CONTROL_PLANE_PROVISION_TIMEOUT_MS + 300_000);

afterAll(async () => {
  await cp?.stop();
}, 60_000);

/** Generation of every object of the release that has one (the hooks are not part of it). */
async function generations(): Promise<Map<string, number>> {
  const manifest = await cp.helm(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
  expect(manifest.status, manifest.stderr).toBe(0);
  const live = JSON.parse(
    await cp.kubectlOk(['get', '-f', '-', '-o', 'json'], manifest.stdout),
  ) as Listed<Live>;
  const result = new Map<string, number>();
  for (const o of live.items) {
    if (o.metadata.generation !== undefined)
      result.set(`${o.kind}/${o.metadata.name}`, o.metadata.generation);
  }
  return result;
}

interface Pdb {
  metadata: { name: string };
  spec: { selector: { matchLabels?: Record<string, string> } };
  status?: {
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
    disruptionsAllowed?: number;
  };
}
interface Pod {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: { nodeName?: string };
  status: { phase: string };
}
interface HookSample {
  /** Pods of the hook Jobs running when the sample was taken. */
  hookPods: Pod[];
  pdbs: Pdb[];
  /** Those of them already running at an earlier sample (the disruption controller has had a round trip
   *  to count them); they are released after this sample. */
  settled: Pod[];
}

const jobOf = (pod: Pod) => pod.metadata.ownerReferences?.find((o) => o.kind === 'Job')?.name;

/**
 * Runs a helm command while watching its hook Jobs: each Job's pod is sampled together with the
 * PodDisruptionBudgets while it runs, twice (the second sample gives the disruption controller a round
 * trip to count the pod), and only then released to complete (JOB_POD_RELEASE).
 */
async function helmWatchingHooks(
  args: readonly string[],
): Promise<{ result: RunResult; samples: HookSample[] }> {
  const samples: HookSample[] = [];
  const seen = new Set<string>();
  let running = true;
  const watching = (async () => {
    while (running) {
      const pods = await cp.api<Listed<Pod>>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
      const hookPods = (pods.status === 200 ? pods.body.items : []).filter(
        (p) =>
          jobOf(p) !== undefined &&
          p.status.phase === 'Running' &&
          !p.metadata.annotations?.[JOB_POD_RELEASE],
      );
      if (hookPods.length === 0) {
        // A sampler, not a wait: it looks again until the helm command ends.
        await sleep(100);
        continue;
      }
      const pdbs = await cp.api<Listed<Pdb>>(
        'GET',
        `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets`,
      );
      if (pdbs.status !== 200) continue;
      samples.push({
        hookPods,
        pdbs: pdbs.body.items,
        settled: hookPods.filter((p) => seen.has(p.metadata.name)),
      });
      for (const pod of hookPods) {
        if (!seen.has(pod.metadata.name)) {
          seen.add(pod.metadata.name);
          continue;
        }
        await cp.api(
          'PATCH',
          `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name}`,
          { metadata: { annotations: { [JOB_POD_RELEASE]: 'true' } } },
          'application/merge-patch+json',
        );
      }
    }
  })();
  try {
    return { result: await cp.helm(args), samples };
  } finally {
    running = false;
    await watching;
  }
}

/** The Deployments' replicas by name (a service's PDB has its Deployment's name). */
const replicasOf = (objects: readonly K8sObject[]) =>
  new Map(
    objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => [o.metadata.name, (o.spec as { replicas?: number }).replicas ?? 1] as const),
  );

/** While a hook Job ran, no budget selected its pod and every budget counted exactly its Deployment's
 *  pods, healthy, with an eviction allowed. */
function expectBudgetsHeldDuringHooks(samples: readonly HookSample[], what: string): void {
  const rendered = render('default');
  const replicas = replicasOf(rendered);
  const budgets = rendered.filter((o) => o.kind === 'PodDisruptionBudget').length;
  const hooks = new Set(samples.flatMap((s) => s.hookPods.map(jobOf)));
  expect(hooks.size, `${what}: hook Jobs seen running`).toBeGreaterThan(0);
  // Every hook's pod was released, after a sample that saw it settled.
  expect(new Set(samples.flatMap((s) => s.settled.map(jobOf))), what).toEqual(hooks);
  for (const sample of samples) {
    expect(sample.pdbs.length, what).toBe(budgets);
    for (const pdb of sample.pdbs) {
      const where = `${what}: ${pdb.metadata.name} while ${sample.hookPods.map(jobOf).join(', ')} ran`;
      const selector = Object.entries(pdb.spec.selector.matchLabels ?? {});
      for (const pod of sample.hookPods) {
        const selected = selector.every(([key, value]) => pod.metadata.labels?.[key] === value);
        expect(selected, `${where}: selects ${pod.metadata.name}`).toBe(false);
      }
      // A hook's pod counted by the budget would make it unhealthy or block every eviction.
      if (sample.settled.length === 0) continue;
      expect(pdb.status?.expectedPods, where).toBe(replicas.get(pdb.metadata.name));
      expect(pdb.status?.currentHealthy ?? 0, where).toBeGreaterThanOrEqual(pdb.status?.desiredHealthy ?? 1);
      expect(pdb.status?.disruptionsAllowed ?? 0, where).toBeGreaterThanOrEqual(1);
    }
  }
}

const HELM_TIMEOUT = '150s';
const helmArgs = (command: 'install' | 'upgrade') => [
  command,
  RELEASE,
  chartDir,
  '--namespace',
  NAMESPACE,
  '--values',
  valuesFiles.default,
  '--wait',
  '--timeout',
  HELM_TIMEOUT,
];

describe('the chart on a real API server (Kubernetes 1.34, kwok node)', () => {
  it("reports the pinned Kubernetes version, which the chart's kubeVersion accepts", async () => {
    const version = JSON.parse(await cp.kubectlOk(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe(tools.kubernetesRelease);
  });

  it('accepts the default and the production render, server-side (CRD schemas and CEL rules)', async () => {
    for (const values of [[valuesFiles.default], [valuesFiles.default, valuesFiles.production]]) {
      const yaml = renderYaml(values, ['--kube-version', tools.kubernetesRelease]);
      const result = await cp.kubectl(
        ['apply', '--server-side', '--dry-run=server', '--namespace', NAMESPACE, '-f', '-'],
        yaml,
      );
      expect(result.status, `${values.at(-1)}: ${result.stderr}`).toBe(0);
      expect(result.stdout.split('\n').filter(Boolean).length).toBe(parseObjects(yaml).length);
    }
    // The real rules apply: CloudNativePG's CEL rule refuses an image given twice, Strimzi's schema a
    // node pool without roles.
    const objects = render('default');
    const cluster = structuredClone(objects.find((o) => o.kind === 'Cluster')) as K8sObject;
    (cluster.spec as Record<string, unknown>).imageCatalogRef = {
      apiGroup: 'postgresql.cnpg.io',
      kind: 'ImageCatalog',
      name: 'catalog',
      major: 17,
    };
    const refused = await cp.kubectl(
      ['apply', '--server-side', '--dry-run=server', '--namespace', NAMESPACE, '-f', '-'],
      JSON.stringify(cluster),
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/imageName|imageCatalogRef/);
    const pool = structuredClone(objects.find((o) => o.kind === 'KafkaNodePool')) as K8sObject;
    (pool.spec as Record<string, unknown>).roles = ['coordinator'];
    const badPool = await cp.kubectl(
      ['apply', '--server-side', '--dry-run=server', '--namespace', NAMESPACE, '-f', '-'],
      JSON.stringify(pool),
    );
    expect(badPool.status).not.toBe(0);
    expect(badPool.stderr).toMatch(/roles/);
  });

  it("admits every pod the default and the production render ask for (restricted Pod Security, Dapr's secret store)", async () => {
    for (const which of ['default', 'production'] as const) {
      const pods = render(which).flatMap((workload) => {
        const pod = podOf(workload);
        return pod ? [{ workload, pod }] : [];
      });
      // The service accounts the pods name (admission refuses a pod whose account does not exist).
      const accounts = new Set(
        pods.map(({ pod }) => (pod.spec as { serviceAccountName?: string }).serviceAccountName),
      );
      for (const name of accounts) {
        if (!name) continue;
        const created = await cp.api('POST', `/api/v1/namespaces/${RESTRICTED_NAMESPACE}/serviceaccounts`, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name },
        });
        expect([201, 409], name).toContain(created.status);
      }
      for (const { workload, pod } of pods) {
        const admitted = await cp.api<{ message?: string }>(
          'POST',
          `/api/v1/namespaces/${RESTRICTED_NAMESPACE}/pods?dryRun=All`,
          pod,
        );
        expect(
          admitted.status,
          `${which}: ${workload.kind}/${workload.metadata.name}: ${admitted.body.message}`,
        ).toBe(201);
      }
    }
  });

  it('installs with helm, schedules every pod on the node, and accepts the Dapr resources', async () => {
    const install = await helmWatchingHooks(helmArgs('install'));
    expect(install.result.status, `${install.result.stderr}\n${await describeProblems()}`).toBe(0);
    expectBudgetsHeldDuringHooks(install.samples, 'install');

    const pods = JSON.parse(
      await cp.kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-o', 'json']),
    ) as Listed<Pod>;
    expect(pods.items.length).toBeGreaterThan(0);
    for (const pod of pods.items) {
      expect(pod.spec.nodeName, pod.metadata.name).toBe(NODE);
      expect(['Running', 'Succeeded'], `${pod.metadata.name} is ${pod.status.phase}`).toContain(
        pod.status.phase,
      );
    }
    const rendered = render('default');
    const deployments = rendered.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    const wanted = deployments.reduce((n, d) => n + ((d.spec as { replicas?: number }).replicas ?? 1), 0);
    expect(pods.items.filter((p) => p.status.phase === 'Running').length).toBe(wanted);

    for (const kind of ['Component', 'Configuration', 'Resiliency']) {
      const names = rendered
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
      expect(names.length, kind).toBeGreaterThan(0);
      const live = JSON.parse(
        await cp.kubectlOk(['-n', NAMESPACE, 'get', `${kind.toLowerCase()}.dapr.io`, '-o', 'json']),
      ) as Listed<Live>;
      expect(live.items.map((o) => o.metadata.name).sort(), kind).toEqual(names);
    }
  }, 240_000);

  it("changes no object's generation in two upgrades with the same values; PDBs stay healthy while hooks run", async () => {
    const before = await generations();
    expect([...before.keys()].filter((k) => k.startsWith('Deployment/')).length).toBeGreaterThan(0);
    for (const round of [1, 2]) {
      const upgrade = await helmWatchingHooks(helmArgs('upgrade'));
      expect(
        upgrade.result.status,
        `upgrade ${round}: ${upgrade.result.stderr}\n${await describeProblems()}`,
      ).toBe(0);
      expect(await generations(), `upgrade ${round}`).toEqual(before);
      expectBudgetsHeldDuringHooks(upgrade.samples, `upgrade ${round}`);
    }
  }, 400_000);
});

/** Why an install did not become ready: pods not running and the recent warning events. */
async function describeProblems(): Promise<string> {
  const pods = await cp.kubectl(['-n', NAMESPACE, 'get', 'pods', '-o', 'wide']);
  const events = await cp.kubectl([
    '-n',
    NAMESPACE,
    'get',
    'events',
    '--field-selector',
    'type=Warning',
    '-o',
    'custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message',
  ]);
  return `${pods.stdout}\n${events.stdout}`.slice(0, 6000);
}

// The chart against a real API server (Level 1): etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler of Kubernetes 1.34, one kwok node the size of a 2-CPU kind node less what runs there
// besides ReserveX, and the real CRDs of Dapr, CloudNativePG and Strimzi. What it shows that the offline
// checks cannot: the API server accepts every object (schemas, CEL rules, defaults), helm installs and
// upgrades the release, an upgrade with the same values changes nothing, the scheduler places every pod,
// and the PodDisruptionBudgets hold while the hook Jobs run. What it cannot: no container runs (kwok
// plays the kubelet), no operator reconciles (no Kafka, no Postgres), no Dapr sidecar is injected.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, type ControlPlaneTools, type NodeSize } from './control-plane.ts';
import { kindNode, operatorMadeRequests, quantity, reservedRequests } from './node.ts';
import {
  CONTROL_PLANE_PROVISION_TIMEOUT_MS,
  chartDir,
  type K8sObject,
  parseObjects,
  provisionControlPlaneTools,
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
  try {
    await cp.startAll(node);
    const crds = [
      join(tools.daprCrds),
      tools.cnpgCrds,
      join(
        import.meta.dirname,
        'testdata',
        readdirSync(join(import.meta.dirname, 'testdata')).find((d) => d.startsWith('strimzi-crds-')) ?? '',
      ),
    ];
    for (const dir of crds) await cp.kubectlOk(['apply', '--server-side', '-f', dir], undefined, 180_000);
    await cp.kubectlOk(
      ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s'],
      undefined,
      150_000,
    );
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], DAPR_POLICY);
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], REDIS_VOLUME);
    await cp.kubectlOk(['create', 'namespace', NAMESPACE]);
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
  spec: { selector: { matchLabels: Record<string, string> } };
  status?: {
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
    disruptionsAllowed?: number;
  };
}
interface Job {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { active?: number; succeeded?: number };
}

/** Samples the PodDisruptionBudgets and the hook Jobs until stopped. */
function samplePdbs() {
  const samples: { hookJobsRunning: string[]; pdbs: Pdb[] }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const [pdbs, jobs] = await Promise.all([
        cp.kubectl(['-n', NAMESPACE, 'get', 'pdb', '-o', 'json']),
        cp.kubectl(['-n', NAMESPACE, 'get', 'jobs', '-o', 'json']),
      ]);
      if (pdbs.status === 0 && jobs.status === 0) {
        samples.push({
          pdbs: (JSON.parse(pdbs.stdout) as Listed<Pdb>).items,
          hookJobsRunning: (JSON.parse(jobs.stdout) as Listed<Job>).items
            .filter((j) => j.metadata.annotations?.['helm.sh/hook'] && (j.status?.active ?? 0) > 0)
            .map((j) => j.metadata.name),
        });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
      return samples;
    },
  };
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
      const result = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], yaml);
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
      ['apply', '--server-side', '--dry-run=server', '-f', '-'],
      JSON.stringify(cluster),
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/imageName|imageCatalogRef/);
    const pool = structuredClone(objects.find((o) => o.kind === 'KafkaNodePool')) as K8sObject;
    (pool.spec as Record<string, unknown>).roles = ['coordinator'];
    const badPool = await cp.kubectl(
      ['apply', '--server-side', '--dry-run=server', '-f', '-'],
      JSON.stringify(pool),
    );
    expect(badPool.status).not.toBe(0);
    expect(badPool.stderr).toMatch(/roles/);
  });

  it('installs with helm, schedules every pod on the node, and accepts the Dapr resources', async () => {
    const install = await cp.helm(helmArgs('install'));
    expect(install.status, `${install.stderr}\n${await describeProblems()}`).toBe(0);

    const pods = JSON.parse(await cp.kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-o', 'json'])) as Listed<{
      metadata: { name: string };
      spec: { nodeName?: string };
      status: { phase: string };
    }>;
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
        await cp.kubectlOk(['-n', NAMESPACE, 'get', `${kind.toLowerCase()}s.dapr.io`, '-o', 'json']),
      ) as Listed<Live>;
      expect(live.items.map((o) => o.metadata.name).sort(), kind).toEqual(names);
    }
  });

  it("changes no object's generation in two upgrades with the same values; PDBs stay healthy while hooks run", async () => {
    const before = await generations();
    expect([...before.keys()].filter((k) => k.startsWith('Deployment/')).length).toBeGreaterThan(0);
    for (const round of [1, 2]) {
      const sampler = samplePdbs();
      const upgrade = await cp.helm(helmArgs('upgrade'));
      const samples = await sampler.stop();
      expect(upgrade.status, `upgrade ${round}: ${upgrade.stderr}\n${await describeProblems()}`).toBe(0);
      expect(await generations(), `upgrade ${round}`).toEqual(before);

      const duringHooks = samples.filter((s) => s.hookJobsRunning.length > 0);
      expect(duringHooks.length, `upgrade ${round}: a sample while the hook Jobs ran`).toBeGreaterThan(0);
      for (const sample of duringHooks) {
        expect(sample.pdbs.length).toBeGreaterThan(0);
        for (const pdb of sample.pdbs) {
          const where = `${pdb.metadata.name} while ${sample.hookJobsRunning.join(', ')} ran`;
          // A hook's pod counted by the budget would make it unhealthy or block every eviction.
          expect(pdb.status?.expectedPods, where).toBe(1);
          expect(pdb.status?.currentHealthy ?? 0, where).toBeGreaterThanOrEqual(
            pdb.status?.desiredHealthy ?? 1,
          );
          expect(pdb.status?.disruptionsAllowed ?? 0, where).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });
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

// The node the default install must fit: one kind node on a 2-CPU machine, shared with what runs there
// besides ReserveX. The offline policy sums the release's requests against it; the API-server check
// gives its kwok node exactly this capacity and these reservations, and has the real scheduler place
// every pod.
import type { K8sObject } from './tools.ts';

/** A kind node on a 2-CPU, 7 GiB machine (kind's node is the whole Docker host). */
export const kindNode = { cpu: '2', memory: '7Gi', pods: 110 } as const;

export interface Reservation {
  name: string;
  cpu: string;
  memory: string;
  /** Where the numbers come from. */
  source: string;
}

/** What runs on that node before ReserveX: Kubernetes' own pods and the operators k8s/bootstrap.sh
 *  installs, with their resource requests. */
export const reservations: readonly Reservation[] = [
  { name: 'etcd', cpu: '100m', memory: '100Mi', source: 'kubeadm static pod (kind v0.30.0)' },
  { name: 'kube-apiserver', cpu: '250m', memory: '0', source: 'kubeadm static pod' },
  { name: 'kube-controller-manager', cpu: '200m', memory: '0', source: 'kubeadm static pod' },
  { name: 'kube-scheduler', cpu: '100m', memory: '0', source: 'kubeadm static pod' },
  { name: 'coredns', cpu: '200m', memory: '140Mi', source: 'kubeadm CoreDNS, two replicas of 100m/70Mi' },
  { name: 'kindnet', cpu: '100m', memory: '50Mi', source: 'kind v0.30.0 CNI DaemonSet' },
  {
    name: 'strimzi-cluster-operator',
    cpu: '200m',
    memory: '384Mi',
    source: 'strimzi-kafka-operator 0.49.1 Helm chart values',
  },
  {
    name: 'cnpg-controller-manager',
    cpu: '100m',
    memory: '100Mi',
    source: 'cloudnative-pg 1.27.1 config/manager/manager.yaml',
  },
  // Dapr 1.18.2's operator, sidecar injector and sentry request nothing (resources: {} in its chart);
  // placement and scheduler are not installed (global.actors.enabled, global.scheduler.enabled false).
];

/** Kubernetes quantity -> number (cores for CPU, bytes for memory). */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? (factor[match[2]] ?? Number.NaN) : 1);
}

export interface Requests {
  cpu: number;
  memory: number;
}
type ResourceSpec = { requests?: Record<string, string> } | undefined;
const add = (a: Requests, r: ResourceSpec, times = 1): Requests => ({
  cpu: a.cpu + quantity(r?.requests?.cpu) * times,
  memory: a.memory + quantity(r?.requests?.memory) * times,
});

/**
 * Requests of the pods that are not in the rendered objects but that the release brings onto the node:
 * the Dapr sidecar of every replica (injected, sized by annotations), the Kafka brokers and the entity
 * operator (made by Strimzi from the Kafka CRs), the Postgres instances (made by CloudNativePG).
 */
export function operatorMadeRequests(objects: readonly K8sObject[]): Requests {
  let total: Requests = { cpu: 0, memory: 0 };
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    if (o.kind === 'Deployment') {
      const template = spec?.template as { metadata?: { annotations?: Record<string, string> } } | undefined;
      const a = template?.metadata?.annotations ?? {};
      if (a['dapr.io/enabled'] === 'true') {
        const replicas = (spec?.replicas as number | undefined) ?? 1;
        total = add(
          total,
          {
            requests: {
              cpu: a['dapr.io/sidecar-cpu-request'] ?? '0',
              memory: a['dapr.io/sidecar-memory-request'] ?? '0',
            },
          },
          replicas,
        );
      }
    } else if (o.kind === 'KafkaNodePool') {
      total = add(total, spec?.resources as ResourceSpec, spec?.replicas as number);
    } else if (o.kind === 'Kafka') {
      const eo = spec?.entityOperator as Record<string, { resources?: ResourceSpec }> | undefined;
      total = add(total, eo?.topicOperator?.resources);
      total = add(total, eo?.userOperator?.resources);
    } else if (o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/')) {
      total = add(total, spec?.resources as ResourceSpec, spec?.instances as number);
    }
  }
  return total;
}

export function reservedRequests(): Requests {
  return reservations.reduce<Requests>((sum, r) => add(sum, { requests: { cpu: r.cpu, memory: r.memory } }), {
    cpu: 0,
    memory: 0,
  });
}

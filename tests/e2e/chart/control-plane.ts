// A real Kubernetes control plane for the chart checks, started from the binaries tools/provision.sh
// builds (--control-plane): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and a kwok
// node in place of a kubelet. Everything listens on loopback ports chosen free at start, with
// certificates made for this run in a scratch folder; stop() ends the processes it started (by pid)
// and removes the folder.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { vi } from 'vitest';
import { type RunResult, runAsync, type Tools } from './tools.ts';

export interface ControlPlaneTools extends Tools {
  kubernetesRelease: string;
  controlPlane: string;
  kwok: string;
  cnpgCrds: string;
  cnpgVersion: string;
}

/** Node of the cluster: a kwok node with this capacity and allocatable. */
export interface NodeSize {
  name: string;
  capacity: { cpu: string; memory: string; pods: number };
  allocatable: { cpu: string; memory: string; pods: number };
}

// The kube-apiserver refuses a loopback advertise address (it is what the `kubernetes` Service's
// endpoints point pods to). Nothing in this check connects to it: an address of TEST-NET-1 (RFC 5737).
const ADVERTISE_ADDRESS = '192.0.2.10';
const SERVICE_CIDR = '10.96.0.0/16';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, the API server's serving certificate, an admin client certificate and the service-account key. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=reservex-check-ca',
  ]);
  const sign = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  sign(
    'apiserver',
    '/CN=kube-apiserver',
    `subjectAltName=IP:127.0.0.1,IP:${ADVERTISE_ADDRESS},IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`,
  );
  sign('admin', '/O=system:masters/CN=reservex-check-admin', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
  openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfig(dir: string, port: number): string {
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
  - name: check
    cluster: { server: "https://127.0.0.1:${port}", certificate-authority: "${join(dir, 'ca.crt')}" }
users:
  - name: admin
    user: { client-certificate: "${join(dir, 'admin.crt')}", client-key: "${join(dir, 'admin.key')}" }
contexts:
  - name: check
    context: { cluster: check, user: admin }
current-context: check
`,
  );
  return path;
}

/** The annotation that lets a Job's pod complete (see the job-pod-complete stage). */
export const JOB_POD_RELEASE = 'check.reservex.dev/complete';

/**
 * kwok's stages: the node comes up Ready with the size it was created with; a pod is Running and Ready
 * once scheduled; a Job's pod then completes successfully once the check has seen it run and annotated
 * it with JOB_POD_RELEASE (so no hook ends unobserved, however slow the machine); a deleted pod goes
 * away.
 */
const KWOK_STAGES = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: { name: node-ready }
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
      - { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ["True"] }
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - { address: {{ NodeIP | Quote }}, type: InternalIP }
      allocatable:
      {{ YAML .status.allocatable 1 }}
      capacity:
      {{ YAML .status.capacity 1 }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: { name: pod-running }
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
      - { key: .metadata.deletionTimestamp, operator: DoesNotExist }
      - { key: .status.podIP, operator: DoesNotExist }
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - { type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }} }
      - { type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }} }
      - { type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }} }
      containerStatuses:
      {{ range .spec.containers }}
      - { name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, restartCount: 0, started: true, state: { running: { startedAt: {{ $now | Quote }} } } }
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - { name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } } }
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: { name: job-pod-complete }
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
      - { key: .metadata.deletionTimestamp, operator: DoesNotExist }
      - { key: .status.phase, operator: In, values: [Running] }
      - { key: '.metadata.ownerReferences.[].kind', operator: In, values: [Job] }
      - { key: '.metadata.annotations["${JOB_POD_RELEASE}"]', operator: In, values: ["true"] }
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - { type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
      - { type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
      containerStatuses:
      {{ range .spec.containers }}
      - { name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: false, restartCount: 0, started: false, state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } } }
      {{ end }}
      phase: Succeeded
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: { name: pod-delete }
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
      - { key: .metadata.deletionTimestamp, operator: Exists }
  next:
    finalizers: { empty: true }
    delete: true
`;

export class ControlPlane {
  readonly dir: string;
  kubeconfig = '';
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private readonly tools: ControlPlaneTools;

  constructor(tools: ControlPlaneTools) {
    this.tools = tools;
    this.dir = mkdtempSync(join(tmpdir(), 'reservex-apiserver-'));
  }

  private bin(name: string): string {
    return name === 'kwok' ? this.tools.kwok : join(this.tools.controlPlane, name);
  }

  private start(name: string, args: string[]): ChildProcess {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(this.bin(name), args, { cwd: this.dir, stdio: ['ignore', log, log] });
    this.processes.push({ name, child });
    child.once('exit', (code, signal) => {
      if (!this.stopping) writeFileSync(join(this.dir, `${name}.exit`), `${code ?? signal}`);
    });
    return child;
  }

  private stopping = false;

  /** Last lines of a component's log, for a failure message. */
  logTail(name: string, lines = 30): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  async kubectl(args: readonly string[], input?: string, timeoutMs = 120_000): Promise<RunResult> {
    // The discovery cache of this run stays in its folder, not in the user's home.
    const common = ['--kubeconfig', this.kubeconfig, '--cache-dir', join(this.dir, 'kube-cache')];
    if (input === undefined) return runAsync(this.bin('kubectl'), [...common, ...args], { timeoutMs });
    const file = join(this.dir, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, input);
    return runAsync(this.bin('kubectl'), [...common, ...args.map((a) => (a === '-' ? file : a))], {
      timeoutMs,
    });
  }

  /** kubectl that must succeed; returns its stdout. */
  async kubectlOk(args: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
    const result = await this.kubectl(args, input, timeoutMs);
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  private agent?: Agent;
  private apiPort = 0;

  /**
   * One request to the API server as the admin (a kept-alive connection: cheaper than a kubectl
   * process where a check polls). Resolves with the status and the parsed JSON body.
   */
  async api<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> {
    this.agent ??= new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: readFileSync(join(this.dir, 'ca.crt')),
      cert: readFileSync(join(this.dir, 'admin.crt')),
      key: readFileSync(join(this.dir, 'admin.key')),
    });
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.apiPort,
          path,
          method,
          agent: this.agent,
          timeout: 30_000,
          headers:
            payload === undefined
              ? { accept: 'application/json' }
              : { accept: 'application/json', 'content-type': contentType },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async helm(args: readonly string[], timeoutMs = 300_000): Promise<RunResult> {
    return runAsync(this.tools.helm, [...args, '--kubeconfig', this.kubeconfig], { timeoutMs });
  }

  /** Bounded wait: polls `check` until it returns true (a failing check counts as not yet). */
  private async until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    // vi.waitFor, not expect.poll: this runs in a beforeAll hook.
    await vi.waitFor(
      async () => {
        if (!(await check().catch(() => false)))
          throw new Error(`${what} not ready within ${timeoutMs / 1000}s`);
      },
      { timeout: timeoutMs, interval: 250 },
    );
  }

  async startAll(node: NodeSize): Promise<void> {
    makeCertificates(this.dir);
    const ports: number[] = [];
    // One at a time: two servers closed at once could be handed the same port.
    while (ports.length < 6) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwokServer] = ports as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    this.kubeconfig = kubeconfig(this.dir, apiserver);
    this.apiPort = apiserver;
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    this.start('etcd', [
      '--name=check',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=check=http://127.0.0.1:${etcdPeer}`,
      // A throw-away store: no fsync, the run is faster on a shared disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    const cert = (name: string) => join(this.dir, name);
    this.start('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiserver}`,
      `--advertise-address=${ADVERTISE_ADDRESS}`,
      `--tls-cert-file=${cert('apiserver.crt')}`,
      `--tls-private-key-file=${cert('apiserver.key')}`,
      `--client-ca-file=${cert('ca.crt')}`,
      `--service-account-key-file=${cert('sa.pub')}`,
      `--service-account-signing-key-file=${cert('sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ]);
    await this.until('kube-apiserver', async () => (await this.api('GET', '/readyz')).status === 200, 90_000);
    this.start('kube-controller-manager', [
      `--kubeconfig=${this.kubeconfig}`,
      `--authentication-kubeconfig=${this.kubeconfig}`,
      `--authorization-kubeconfig=${this.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${controllerManager}`,
      `--service-account-private-key-file=${cert('sa.key')}`,
      `--root-ca-file=${cert('ca.crt')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--leader-elect=false',
      '--controllers=*',
      '--profiling=false',
      '--v=1',
    ]);
    this.start('kube-scheduler', [
      `--kubeconfig=${this.kubeconfig}`,
      `--authentication-kubeconfig=${this.kubeconfig}`,
      `--authorization-kubeconfig=${this.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ]);
    writeFileSync(join(this.dir, 'kwok-stages.yaml'), KWOK_STAGES);
    this.start('kwok', [
      `--kubeconfig=${this.kubeconfig}`,
      `--config=${join(this.dir, 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokServer}`,
      '--cidr=10.244.0.0/16',
      '--node-ip=10.89.0.2',
    ]);
    await this.kubectlOk(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': node.name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'topology.kubernetes.io/zone': 'zone-a',
            type: 'kwok',
          },
        },
        status: { capacity: node.capacity, allocatable: node.allocatable },
      }),
    );
    await this.until(
      `node ${node.name}`,
      async () =>
        (
          await this.kubectl([
            'get',
            'node',
            node.name,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints}',
          ])
        ).stdout.trim() === 'True',
      60_000,
    );
    // The default ServiceAccount of a namespace comes from the controller-manager: once it exists,
    // namespaces created later get theirs too.
    await this.until(
      'controller-manager',
      async () =>
        (await this.api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      60_000,
    );
  }

  /** Ends the processes this instance started (by their pids) and removes its folder. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { child } of [...this.processes].reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    const deadline = Date.now() + 10_000;
    for (const { child } of this.processes) {
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.agent?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// What the chart checks share: the provisioned tools (tools/provision.sh), rendering the chart with helm,
// and reading the rendered objects.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const execFileAsync = promisify(execFile);

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const chartDir = join(repoRoot, 'charts/reservex');
export const valuesFiles = {
  default: join(chartDir, 'values.yaml'),
  production: join(chartDir, 'values-production.yaml'),
} as const;

export interface Tools {
  helm: string;
  helmVersion: string;
  kubeconform: string;
  kubeconformVersion: string;
  kubernetesVersion: string;
  kubernetesSchemas: string;
  daprCrds: string;
  daprVersion: string;
  crdValidators: string;
  tiltfileEval: string;
}

let provisioned: Tools | undefined;

/** A cold provisioning compiles helm from source: minutes on a 2-core machine. */
export const PROVISION_TIMEOUT_MS = 1_200_000;

/** Provisions the tools (the script is idempotent and locked); call from each file's beforeAll. */
export async function provisionTools(): Promise<Tools> {
  if (!provisioned) {
    const started = Date.now();
    const { stdout } = await execFileAsync('bash', [join(import.meta.dirname, 'tools/provision.sh')], {
      encoding: 'utf8',
      timeout: PROVISION_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    provisioned = JSON.parse(stdout) as Tools;
    console.warn(`chart tools ready in ${Math.round((Date.now() - started) / 1000)}s`);
  }
  return provisioned;
}

/** Provisions the tools and the control plane of the API-server check (builds Kubernetes when cold). */
export async function provisionControlPlaneTools<T extends Tools>(): Promise<T> {
  const started = Date.now();
  const { stdout } = await execFileAsync(
    'bash',
    [join(import.meta.dirname, 'tools/provision.sh'), '--control-plane'],
    { encoding: 'utf8', timeout: CONTROL_PLANE_PROVISION_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout) as T;
  provisioned ??= result;
  console.warn(`control plane tools ready in ${Math.round((Date.now() - started) / 1000)}s`);
  return result;
}

/** A cold build of kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and etcd: ~10 min
 *  on 2 cores, more while the machine is busy. */
export const CONTROL_PLANE_PROVISION_TIMEOUT_MS = 2_700_000;

export function tools(): Tools {
  if (!provisioned) throw new Error('chart tools are not provisioned: await provisionTools() in beforeAll');
  return provisioned;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like run, without blocking the test worker (vitest's worker must keep answering while a long
 *  command runs). */
export async function runAsync(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd: options.cwd ?? repoRoot,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `helm template` of the chart with the given values files; throws with helm's message on failure. */
export function renderYaml(values: readonly string[], extraArgs: readonly string[] = []): string {
  const args = ['template', 'reservex', chartDir, '--namespace', 'reservex'];
  for (const file of values) args.push('--values', file);
  const result = run(tools().helm, [...args, ...extraArgs]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.stdout;
}

/** Like renderYaml, without blocking the test worker (for a test that renders several times). */
export async function renderYamlAsync(
  values: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<string> {
  const args = ['template', 'reservex', chartDir, '--namespace', 'reservex'];
  for (const file of values) args.push('--values', file);
  const result = await runAsync(tools().helm, [...args, ...extraArgs]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.stdout;
}

/** Parses a multi-document YAML stream; duplicate keys and syntax errors fail. */
export function parseObjects(yamlText: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(yamlText, { uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

const renderCache = new Map<string, K8sObject[]>();

/** The objects rendered from a values file (default values file first, as helm merges them). */
export function render(which: keyof typeof valuesFiles): K8sObject[] {
  let objects = renderCache.get(which);
  if (!objects) {
    const files = which === 'default' ? [valuesFiles.default] : [valuesFiles.default, valuesFiles[which]];
    objects = parseObjects(renderYaml(files));
    renderCache.set(which, objects);
  }
  return objects;
}

export function scratchDir(name: string): string {
  const dir = join(tmpdir(), `reservex-chart-${process.pid}`, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

/**
 * JSON schemas, in kubeconform's file layout ({group}/{kind}_{version}.json), for every version of the
 * CRDs in a folder of CRD manifests. Strict as kubeconform's own CRD converter: an object that lists
 * its properties accepts no others unless the CRD marks it x-kubernetes-preserve-unknown-fields.
 */
export function crdSchemas(crdFolder: string, outDir: string): string[] {
  const written: string[] = [];
  for (const file of readdirSync(crdFolder).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(crdFolder, file), 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema) continue;
        const dir = join(outDir, crd.spec.group);
        mkdirSync(dir, { recursive: true });
        const path = join(dir, `${crd.spec.names.kind.toLowerCase()}_${version.name}.json`);
        writeFileSync(path, JSON.stringify(strict(structuredClone(schema))));
        written.push(path);
      }
    }
  }
  return written;
}

function strict(schema: Record<string, unknown>): Record<string, unknown> {
  if (
    schema.properties &&
    schema.additionalProperties === undefined &&
    !schema['x-kubernetes-preserve-unknown-fields']
  ) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      for (const child of Object.values(value)) strict(child as Record<string, unknown>);
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      strict(value as Record<string, unknown>);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      for (const child of value) strict(child as Record<string, unknown>);
    }
  }
  return schema;
}

export function readYamlFile<T>(path: string): T {
  return parseYaml(readFileSync(path, 'utf8')) as T;
}

/** Pod template of a workload, if the object is one. */
export function podSpecOf(object: K8sObject): Record<string, unknown> | undefined {
  const spec = object.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
  switch (object.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      return spec?.template?.spec;
    case 'Pod':
      return object.spec;
    default:
      return undefined;
  }
}

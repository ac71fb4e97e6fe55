// The chart renders to valid Kubernetes: helm lint --strict, every rendered object against pinned
// Kubernetes JSON schemas and the CRD schemas of Dapr, Strimzi and CloudNativePG, and values.schema.json
// rejecting bad values.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  chartDir,
  crdSchemas,
  type K8sObject,
  PROVISION_TIMEOUT_MS,
  parseObjects,
  provisionTools,
  render,
  renderYaml,
  run,
  runAsync,
  scratchDir,
  tools,
  valuesFiles,
} from './tools.ts';

const valuesSets = ['default', 'production'] as const;

beforeAll(provisionTools, PROVISION_TIMEOUT_MS);

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** CRDs validated by the generated validators of @kubernetes-models (Strimzi and CloudNativePG ship no
 *  CRD files in any package registry). apiVersion -> kind -> validator. */
async function crdModels(): Promise<Record<string, Record<string, ModelClass>>> {
  const base = tools().crdValidators;
  const strimzi = (await import(
    join(base, '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/index.js')
  )) as Record<string, ModelClass>;
  const cnpg = (await import(
    join(base, '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/index.js')
  )) as Record<string, ModelClass>;
  return { 'kafka.strimzi.io/v1': strimzi, 'postgresql.cnpg.io/v1': cnpg };
}

interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: string;
  msg: string;
}

async function kubeconform(objects: readonly K8sObject[], label: string): Promise<KubeconformResource[]> {
  const t = tools();
  const dir = scratchDir(`kubeconform-${label}`);
  const crdDir = join(dir, 'crds');
  crdSchemas(t.daprCrds, crdDir);
  const file = join(dir, 'objects.yaml');
  // JSON documents: quoted strings read back the same under YAML 1.1 (where a plain `yes` is a boolean).
  writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
  const result = await runAsync(
    t.kubeconform,
    [
      '-strict',
      '-verbose',
      '-output',
      'json',
      '-schema-location',
      `${t.kubernetesSchemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-schema-location',
      `${crdDir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
      file,
    ],
    { timeoutMs: 300_000 },
  );
  const report = JSON.parse(result.stdout) as { resources: KubeconformResource[] };
  return report.resources;
}

function describeFailures(resources: readonly KubeconformResource[]): string {
  return resources
    .filter((r) => r.status !== 'statusValid')
    .map((r) => `${r.kind}/${r.name}: ${r.status} ${r.msg}`)
    .join('\n');
}

describe('helm lint --strict', () => {
  for (const which of valuesSets) {
    it(`is clean with the ${which} values`, () => {
      const args = ['lint', '--strict', chartDir, '--namespace', 'reservex'];
      if (which === 'production') args.push('--values', valuesFiles.production);
      const result = run(tools().helm, args);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    });
  }
});

describe('every rendered object is valid', () => {
  let models: Record<string, Record<string, ModelClass>>;
  beforeAll(async () => {
    models = await crdModels();
  });

  function modelFor(object: K8sObject): ModelClass | undefined {
    return models[object.apiVersion]?.[object.kind];
  }

  for (const which of valuesSets) {
    describe(`with the ${which} values`, () => {
      it('renders objects of every family the chart deploys', () => {
        const kinds = new Set(render(which).map((o) => `${o.apiVersion}/${o.kind}`));
        for (const kind of [
          'apps/v1/Deployment',
          'v1/Service',
          'v1/ServiceAccount',
          'policy/v1/PodDisruptionBudget',
          'networking.k8s.io/v1/NetworkPolicy',
          'batch/v1/Job',
          'v1/Secret',
          'dapr.io/v1alpha1/Component',
          'dapr.io/v1alpha1/Configuration',
          'dapr.io/v1alpha1/Resiliency',
          'kafka.strimzi.io/v1/Kafka',
          'kafka.strimzi.io/v1/KafkaNodePool',
          'kafka.strimzi.io/v1/KafkaTopic',
          'postgresql.cnpg.io/v1/Cluster',
          'postgresql.cnpg.io/v1/Database',
        ]) {
          expect(kinds, kind).toContain(kind);
        }
      });

      it('Kubernetes and Dapr objects match the pinned Kubernetes schemas and the Dapr CRDs (kubeconform -strict)', async () => {
        const objects = render(which).filter((o) => !modelFor(o));
        const resources = await kubeconform(objects, which);
        expect(describeFailures(resources)).toBe('');
        expect(resources.length).toBe(objects.length);
      });

      it('Strimzi and CloudNativePG objects match their CRD schemas', () => {
        const objects = render(which).filter((o) => modelFor(o));
        expect(objects.length).toBeGreaterThan(0);
        const failures: string[] = [];
        for (const object of objects) {
          const Model = modelFor(object)!;
          try {
            new Model(object).validate();
          } catch (error) {
            failures.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
          }
        }
        expect(failures.join('\n')).toBe('');
      });
    });
  }

  it('with a read-model rebuild asked for, its Job, its sidecar’s Configuration, its pub/sub component and Kafka user are valid too', async () => {
    const objects = parseObjects(
      renderYaml(
        [valuesFiles.default],
        ['--set', 'queryRebuild.enabled=true', '--set', 'queryRebuild.id=r1'],
      ),
    ).filter((o) => o.metadata.name.includes('query-rebuild'));
    expect(objects.map((o) => o.kind).sort()).toEqual(['Component', 'Configuration', 'Job', 'KafkaUser']);
    const resources = await kubeconform(
      objects.filter((o) => !modelFor(o)),
      'query-rebuild',
    );
    expect(describeFailures(resources)).toBe('');
    expect(resources.length).toBe(3);
    const user = objects.find((o) => o.kind === 'KafkaUser')!;
    const KafkaUser = modelFor(user)!;
    expect(() => new KafkaUser(user).validate()).not.toThrow();
  });

  // The validators must have teeth: a broken object of each family is rejected.
  it('rejects broken objects (unknown field, wrong type, missing required field)', async () => {
    const deployment = structuredClone(render('default').find((o) => o.kind === 'Deployment')!);
    (deployment.spec as Record<string, unknown>).replica = 2;
    const component = structuredClone(render('default').find((o) => o.kind === 'Component')!);
    (component.spec as Record<string, unknown>).metadata = 'brokers';
    const resiliency = structuredClone(render('default').find((o) => o.kind === 'Resiliency')!);
    (resiliency.spec as Record<string, unknown>).policy = {};
    const rejected = await kubeconform([deployment, component, resiliency], 'negative');
    expect(rejected.map((r) => r.status)).toEqual(['statusInvalid', 'statusInvalid', 'statusInvalid']);

    const topic = structuredClone(render('default').find((o) => o.kind === 'KafkaTopic')!);
    (topic.spec as Record<string, unknown>).partitions = 'six';
    const kafka = structuredClone(render('default').find((o) => o.kind === 'Kafka')!);
    delete (kafka.spec as Record<string, unknown>).kafka;
    for (const broken of [topic, kafka]) {
      const Model = modelFor(broken)!;
      expect(() => new Model(broken).validate(), broken.kind).toThrow();
    }
  });
});

describe('values.schema.json', () => {
  function renderWith(values: Record<string, unknown>): { ok: boolean; message: string } {
    const file = join(scratchDir('values'), `values-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(values));
    try {
      renderYaml([valuesFiles.default, file]);
      return { ok: true, message: '' };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  }

  it('accepts the default and the production values', () => {
    expect(() => renderYaml([valuesFiles.default, valuesFiles.production])).not.toThrow();
  });

  it('rejects a value of the wrong type', () => {
    const result = renderWith({ services: { queue: { replicas: 'three' } } });
    expect(result.ok).toBe(false);
    expect(result.message).toContain('/services/queue/replicas');
  });

  it('rejects a missing required value', () => {
    // null removes a key when helm merges values files.
    const result = renderWith({ kafka: { mode: null } });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/missing propert.*mode|required.*mode/);
  });

  it('rejects an unpinned image and a sampling rate that would switch tracing off', () => {
    expect(renderWith({ redis: { image: 'redis:latest' } }).message).toContain('/redis/image');
    expect(renderWith({ dapr: { tracing: { samplingRate: '0' } } }).message).toContain(
      '/dapr/tracing/samplingRate',
    );
  });

  it('rejects an external Kafka without a bootstrap address, and accepts one with it', () => {
    const missing = renderWith({ kafka: { mode: 'external' } });
    expect(missing.ok).toBe(false);
    expect(missing.message).toContain('/kafka/external/brokers');
    expect(
      renderWith({ kafka: { mode: 'external', external: { brokers: 'not an address' } } }).message,
    ).toContain('/kafka/external/brokers');
    expect(
      renderWith({
        kafka: { mode: 'external', external: { brokers: 'kafka-0.kafka:9092,kafka-1.kafka:9092' } },
      }),
    ).toEqual({ ok: true, message: '' });
  });

  it('rejects an unknown key (a typo would otherwise be ignored silently)', () => {
    const result = renderWith({ services: { gateway: { replica: 2 } } });
    expect(result.ok).toBe(false);
    expect(result.message).toContain('replica');
  });
});

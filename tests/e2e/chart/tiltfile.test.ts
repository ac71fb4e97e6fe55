// The Tiltfile, evaluated offline. Tilt is not in any package registry, so tiltfile-eval runs it with the
// Starlark interpreter Tilt embeds and Tilt's built-ins declared with their parameters: a syntax error,
// an unknown built-in or keyword argument fails here. helm() runs the real helm, so the checks below
// see exactly what Tilt would apply.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appIds } from '@reservex/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKERFILE, readDockerfile } from './dockerfile.ts';
import {
  type K8sObject,
  PROVISION_TIMEOUT_MS,
  parseObjects,
  podSpecOf,
  provisionTools,
  repoRoot,
  run,
} from './tools.ts';

interface Call {
  builtin: string;
  args: Record<string, unknown>;
}
interface Step {
  kind: 'sync' | 'run' | 'fall_back_on' | 'port_forward';
  local_path?: string;
  remote_path?: string;
  cmd?: string;
  trigger?: string[];
  files?: string[];
  local_port?: number;
  container_port?: number;
}

let calls: Call[];
let objects: K8sObject[];
const callsOf = (builtin: string) => calls.filter((c) => c.builtin === builtin);

beforeAll(async () => {
  const t = await provisionTools();
  const result = run(t.tiltfileEval, ['--helm', t.helm, join(repoRoot, 'Tiltfile')]);
  expect(result.status, result.stderr).toBe(0);
  calls = (JSON.parse(result.stdout) as { calls: Call[] }).calls;
  objects = callsOf('k8s_yaml').flatMap((c) => parseObjects(String(c.args.yaml)));
}, PROVISION_TIMEOUT_MS);

describe('Tiltfile', () => {
  it('runs only on a local cluster: kind or minikube', () => {
    expect(callsOf('allow_k8s_contexts')[0]?.args.contexts).toEqual(['kind-reservex', 'minikube']);
  });

  it('deploys the chart with the development overrides', () => {
    const [helm] = callsOf('helm');
    expect(helm?.args.paths).toBe('charts/reservex');
    expect(helm?.args.values).toEqual(['charts/reservex/values.yaml', 'tilt/values-dev.yaml']);
    // The services, Jaeger and the card sandbox.
    expect(objects.filter((o) => o.kind === 'Deployment').length).toBe(appIds.length + 2);
    // Hooks would be applied as plain objects under Tilt: they are switched off.
    expect(objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'])).toEqual([]);
  });

  it('builds every service image the chart runs, from the dev stage of the one Dockerfile', () => {
    const builds = callsOf('docker_build');
    const images = objects.flatMap(
      (o) => (podSpecOf(o)?.containers as { image: string }[] | undefined) ?? [],
    );
    for (const appId of appIds) {
      const build = builds.find((b) => String(b.args.ref).endsWith(`/reservex-${appId}`));
      expect(build, appId).toBeDefined();
      // Tilt matches an image by repository, whatever its tag.
      expect(
        images.some((i) => i.image.startsWith(`${build?.args.ref}:`)),
        appId,
      ).toBe(true);
      expect(build?.args.target).toBe('dev');
      expect(build?.args.dockerfile).toBe(DOCKERFILE);
      expect(build?.args.build_args, appId).toEqual({ SERVICE: appId });
      expect(build?.args.context).toBe('.');
    }
    expect(readDockerfile().stages.map((s) => s.name)).toContain('dev');
  });

  it('rebuilds an image only for what live update cannot sync: the workspace layout', () => {
    for (const build of callsOf('docker_build')) {
      const [fallBack] = (build.args.live_update as Step[]).filter((s) => s.kind === 'fall_back_on');
      expect(fallBack?.files).toEqual(['package.json', 'turbo.json']);
    }
  });

  it('live-updates: syncs the service and the shared packages, reinstalls only on package changes', () => {
    for (const build of callsOf('docker_build')) {
      const appId = String(build.args.ref).split('/reservex-')[1];
      const steps = build.args.live_update as Step[];
      const syncs = steps.filter((s) => s.kind === 'sync');
      for (const path of [`services/${appId}`, 'services/platform', 'services/contracts']) {
        const sync = syncs.find((s) => s.local_path === path);
        expect(sync, `${appId} syncs ${path}`).toBeDefined();
        expect(sync?.remote_path).toBe(`/app/${path}`);
        expect(existsSync(join(repoRoot, path)), path).toBe(true);
      }
      const installs = steps.filter((s) => s.kind === 'run');
      expect(installs.length, appId).toBe(1);
      expect(installs[0]?.cmd).toContain('npm install --omit=dev');
      expect(installs[0]?.trigger).toEqual(
        expect.arrayContaining([
          'package-lock.json',
          `services/${appId}/package.json`,
          'services/platform/package.json',
        ]),
      );
      // Tilt runs the steps in order: fall_back_on first, syncs before the run.
      expect(steps.map((s) => s.kind)).toEqual(['fall_back_on', 'sync', 'sync', 'sync', 'sync', 'run']);
    }
  });

  it('groups every object into a labelled resource, naming only objects the chart renders', () => {
    const rendered = new Set(objects.map((o) => `${o.metadata.name}:${o.kind.toLowerCase()}`));
    const workloadNames = new Set(objects.filter((o) => podSpecOf(o)).map((o) => o.metadata.name));
    const claimed = new Set<string>();
    for (const resource of callsOf('k8s_resource')) {
      const { workload, objects: named, labels, new_name: name } = resource.args as Record<string, unknown>;
      expect((labels as string[] | undefined)?.length, String(name ?? workload)).toBeGreaterThan(0);
      if (workload) {
        expect(workloadNames, String(workload)).toContain(workload);
        claimed.add(String(workload));
      }
      for (const object of (named as string[] | undefined) ?? []) {
        expect(rendered, object).toContain(object);
        claimed.add(object);
      }
    }
    // Services follow their workload in Tilt; everything else must be claimed explicitly.
    const loose = objects
      .filter((o) => !podSpecOf(o) && o.kind !== 'Service')
      .map((o) => `${o.metadata.name}:${o.kind.toLowerCase()}`)
      .filter((key) => !claimed.has(key));
    expect(loose).toEqual([]);
    for (const workload of workloadNames) expect(claimed, workload).toContain(workload);
    for (const local of callsOf('local_resource')) {
      expect((local.args.labels as string[] | undefined)?.length, String(local.args.name)).toBeGreaterThan(0);
    }
  });

  it('forwards the gateway and the Jaeger UI', () => {
    const forwards = callsOf('k8s_resource').flatMap((r) =>
      ((r.args.port_forwards as Step[] | undefined) ?? []).map((f) => ({ resource: r.args.new_name, ...f })),
    );
    expect(forwards).toContainEqual(
      expect.objectContaining({ resource: 'gateway', local_port: 8080, container_port: 3000 }),
    );
    expect(forwards).toContainEqual(
      expect.objectContaining({ resource: 'jaeger', local_port: 16686, container_port: 16686 }),
    );
  });
});

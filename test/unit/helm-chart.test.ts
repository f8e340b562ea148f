import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, REPO_ROOT } from '../../src/config';
import { installHelm } from '../../src/stack/helm';

/**
 * deploy/helm/beltline, linted and rendered by the real Helm CLI (built from its Go module into
 * ~/.cache/beltline; `npm test` starts that build in the background, this waits for it).
 */

const CHART = path.join(REPO_ROOT, 'deploy', 'helm', 'beltline');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  lifecycle?: { preStop: { exec: { command: string[] } } };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

let helm = '';
let dir = '';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function valuesFile(name: string, values: unknown): string {
  const file = path.join(dir, name);
  // JSON is YAML: Helm reads it as a values file.
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

/** `helm template` of the chart as release `rel`, parsed; fails the test with Helm's message. */
function render(...args: string[]): K8sObject[] {
  const r = run(['template', 'rel', CHART, ...args]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} named ${name}; rendered: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0];
}

const deployment = (o: K8sObject): DeploymentSpec => o.spec as unknown as DeploymentSpec;
const container = (o: K8sObject): Container => deployment(o).template.spec.containers[0];
const envOf = (c: Container): Map<string, EnvVar> => new Map(c.env.map((e) => [e.name, e]));
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** What every role's pod must be: probes on a port it opens, the settings beltline reads, requests. */
function expectRolePod(d: K8sObject, args: string[], probePort: string, grace: number): Container {
  const c = container(d);
  expect(c.args).toEqual(args);
  expect(c.livenessProbe?.httpGet).toEqual({ path: '/health', port: probePort });
  expect(c.readinessProbe?.httpGet).toEqual({ path: '/ready', port: probePort });
  const env = envOf(c);
  // The probed port is the one beltline listens on: the HTTP server, or the metrics listener.
  const port = c.ports?.find((p) => p.name === probePort)?.containerPort;
  expect(String(port)).toBe(env.get(probePort === 'http' ? 'BELTLINE_HTTP_PORT' : 'BELTLINE_METRICS_PORT')?.value);
  expect(env.get(probePort === 'http' ? 'BELTLINE_HTTP_HOST' : 'BELTLINE_METRICS_HOST')?.value).toBe('0.0.0.0');
  // Every variable the chart sets is one beltline reads: a misspelt one would be silently ignored.
  expect(c.env.map((e) => e.name).filter((n) => !CONFIG_VARIABLES.includes(n))).toEqual([]);
  expect(c.env.map((e) => e.name)).toEqual([...new Set(c.env.map((e) => e.name))]);
  expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
  expect(deployment(d).template.spec.terminationGracePeriodSeconds).toBe(grace);
  // The Deployment's selector picks its own pods.
  expect(matches(deployment(d).selector.matchLabels, deployment(d).template.metadata.labels)).toBe(true);
  return c;
}

beforeAll(async () => {
  helm = await installHelm();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-helm-'));
}, 40 * 60_000);
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Helm chart with its default values', () => {
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = render();
  });

  it('lints clean, strict', () => {
    const r = run(['lint', '--strict', CHART]);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders a Deployment per role, each running its role with the settings, Secret refs and probes it needs', () => {
    const collector = expectRolePod(one(objects, 'Deployment', 'rel-beltline-collector'), ['start', '--role', 'collector'], 'http', 35);
    const bridge = expectRolePod(one(objects, 'Deployment', 'rel-beltline-bridge'), ['start', '--role', 'bridge'], 'metrics', 30);
    const worker = expectRolePod(one(objects, 'Deployment', 'rel-beltline-worker'), ['start', '--role', 'worker'], 'metrics', 30);
    expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(3);

    for (const c of [collector, bridge, worker]) {
      // The image repository of values.yaml, tagged with the chart's appVersion.
      expect(c.image).toBe('beltline:0.1.0');
      const env = envOf(c);
      expect(env.get('DATABASE_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'rel-beltline', key: 'database-url' } });
      expect(env.get('TEMPORAL_ADDRESS')?.value).toBe('temporal-frontend:7233');
      expect(env.get('KAFKA_BROKERS')?.value).toBe('beltline-kafka-bootstrap:9092');
      expect(env.get('BELTLINE_CONSUMER_GROUP')?.value).toBe('beltline-bridge');
      expect(env.get('BELTLINE_TASK_QUEUE')?.value).toBe('beltline');
      expect(env.get('BELTLINE_LOG_LEVEL')?.value).toBe('info');
    }
    // Only the collector serves the admin API: only it gets the key.
    expect(envOf(collector).get('BELTLINE_ADMIN_KEY')?.valueFrom).toEqual({ secretKeyRef: { name: 'rel-beltline', key: 'admin-key' } });
    expect(envOf(bridge).has('BELTLINE_ADMIN_KEY')).toBe(false);
    expect(envOf(worker).has('BELTLINE_ADMIN_KEY')).toBe(false);
    // The Service stops routing to a stopping collector before it stops accepting.
    expect(collector.lifecycle?.preStop.exec.command).toEqual(['sleep', '5']);
    expect(deployment(one(objects, 'Deployment', 'rel-beltline-bridge')).replicas).toBe(2);
    expect(deployment(one(objects, 'Deployment', 'rel-beltline-worker')).replicas).toBe(2);
  });

  it('autoscales the collector on CPU (its Deployment leaves replicas to the autoscaler) behind a Service', () => {
    const hpa = one(objects, 'HorizontalPodAutoscaler', 'rel-beltline-collector');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rel-beltline-collector' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    expect(deployment(one(objects, 'Deployment', 'rel-beltline-collector')).replicas).toBeUndefined();
    const svc = one(objects, 'Service', 'rel-beltline-collector');
    expect(svc.spec).toMatchObject({ ports: [{ port: 80, targetPort: 'http' }] });
    const pods = (n: string): Record<string, string> => deployment(one(objects, 'Deployment', n)).template.metadata.labels;
    const selector = svc.spec?.selector as Record<string, string>;
    expect(matches(selector, pods('rel-beltline-collector'))).toBe(true);
    expect(matches(selector, pods('rel-beltline-worker'))).toBe(false);
  });

  it('gives each role a PodDisruptionBudget over exactly its own pods', () => {
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    for (const role of ['collector', 'bridge', 'worker']) {
      const pdb = one(objects, 'PodDisruptionBudget', `rel-beltline-${role}`);
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec?.maxUnavailable).toBe(1);
      const selector = (pdb.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(deployments.filter((d) => matches(selector, deployment(d).template.metadata.labels)).map((d) => d.metadata.name)).toEqual([`rel-beltline-${role}`]);
    }
  });

  it('makes the Secret and runs `beltline migrate` once, as hooks before the Deployments change', () => {
    const secret = one(objects, 'Secret', 'rel-beltline');
    const job = one(objects, 'Job', 'rel-beltline-migrate');
    for (const hook of [secret, job]) expect(hook.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    // The Secret the Job reads exists before it: a lower weight runs first.
    expect(Number(secret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations?.['helm.sh/hook-weight']));
    const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(data['database-url']).toBe('postgres://beltline@beltline-postgresql:5432/beltline');
    // Generated: at least the 16 characters beltline requires of an admin key.
    expect(data['admin-key']).toMatch(/^[A-Za-z0-9]{40}$/);

    const pod = (job.spec as { template: { spec: PodSpec } }).template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers[0].args).toEqual(['migrate']);
    expect(envOf(pod.containers[0]).get('DATABASE_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'rel-beltline', key: 'database-url' } });
  });
});

describe('the Helm chart with an existing Secret, scaled belts and a fixed collector count', () => {
  let file = '';
  let objects: K8sObject[] = [];
  beforeAll(() => {
    file = valuesFile('scaled.yaml', {
      image: { repository: 'registry.example/beltline', tag: '1.2.3' },
      secrets: { existingSecret: 'beltline-prod', adminKeyKey: 'admin', databaseUrlKey: 'url' },
      collector: { replicas: 3, autoscaling: { enabled: false } },
      kafka: { rawPartitions: 12 },
      config: { BATCH_MAX_EVENTS: 500 },
      belts: [
        { name: 'cart-offers', replicas: 3 },
        { name: 'Scoring_v2', project: 'shop', replicas: 1, terminationGracePeriodSeconds: 300, resources: { requests: { cpu: '2', memory: '1Gi' } } },
      ],
    });
    objects = render('-f', file);
  });

  it('lints clean', () => {
    const r = run(['lint', '--strict', CHART, '-f', file]);
    expect(r.status).toBe(0);
  });

  it('reads the admin key and DATABASE_URL from the existing Secret and makes none', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const refs = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .flatMap((o) => (o.spec as { template: { spec: PodSpec } }).template.spec.containers.flatMap((c) => c.env))
      .flatMap((e) => (e.valueFrom ? [`${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] : []));
    expect(new Set(refs)).toEqual(new Set(['DATABASE_URL=beltline-prod/url', 'BELTLINE_ADMIN_KEY=beltline-prod/admin']));
    expect(one(objects, 'Job', 'rel-beltline-migrate')).toBeDefined();
  });

  it('runs a worker Deployment per belt, on its own task queue, with the replicas listed', () => {
    const cart = one(objects, 'Deployment', 'rel-beltline-belt-cart-offers');
    expectRolePod(cart, ['start', '--role', 'worker', '--belt', 'cart-offers', '--project', 'default'], 'metrics', 30);
    expect(deployment(cart).replicas).toBe(3);
    // A belt name Kubernetes would refuse in a name is made fit; the belt itself is named as it is.
    const scoring = one(objects, 'Deployment', 'rel-beltline-belt-scoring-v2-shop');
    const c = expectRolePod(scoring, ['start', '--role', 'worker', '--belt', 'Scoring_v2', '--project', 'shop'], 'metrics', 300);
    expect(deployment(scoring).replicas).toBe(1);
    expect(c.resources.requests).toEqual({ cpu: '2', memory: '1Gi' });
    expect(c.image).toBe('registry.example/beltline:1.2.3');
    expect(envOf(c).get('BATCH_MAX_EVENTS')?.value).toBe('500');

    // No Deployment's selector takes another's pods: the main workers' is not the belts'.
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      ['rel-beltline-belt-cart-offers', 'rel-beltline-belt-scoring-v2-shop', 'rel-beltline-bridge', 'rel-beltline-collector', 'rel-beltline-worker'],
    );
    for (const d of deployments) {
      const taken = deployments.filter((p) => matches(deployment(d).selector.matchLabels, deployment(p).template.metadata.labels));
      expect(taken.map((p) => p.metadata.name)).toEqual([d.metadata.name]);
    }
    for (const name of ['rel-beltline-belt-cart-offers', 'rel-beltline-belt-scoring-v2-shop']) expect(one(objects, 'PodDisruptionBudget', name)).toBeDefined();
  });

  it('runs the collector count given, with no autoscaler', () => {
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(deployment(one(objects, 'Deployment', 'rel-beltline-collector')).replicas).toBe(3);
    expect(envOf(container(one(objects, 'Deployment', 'rel-beltline-bridge'))).get('BELTLINE_RAW_PARTITIONS')?.value).toBe('12');
  });
});

describe('the Helm chart refuses bad values, naming them', () => {
  const refused = (args: string[]): string => {
    const r = run(['template', 'rel', CHART, ...args]);
    expect(r.status).not.toBe(0);
    return r.stderr;
  };

  it('a negative replica count, in lint and in template', () => {
    const lint = run(['lint', CHART, '--set', 'worker.replicas=-1']);
    expect(lint.status).not.toBe(0);
    expect(lint.stdout).toContain("at '/worker/replicas': minimum: got -1, want 0");
    expect(refused(['--set', 'collector.replicas=-2'])).toContain("at '/collector/replicas': minimum: got -2, want 0");
  });

  it('a missing image', () => {
    expect(refused(['--set', 'image.repository='])).toContain("at '/image/repository': minLength: got 0, want 1");
  });

  it('a belt without replicas, a belt name beltline would refuse, two belts that would share a name', () => {
    expect(refused(['-f', valuesFile('no-replicas.yaml', { belts: [{ name: 'cart-offers' }] })])).toContain("at '/belts/0': missing property 'replicas'");
    expect(refused(['-f', valuesFile('bad-name.yaml', { belts: [{ name: '-x', replicas: 1 }] })])).toContain("at '/belts/0/name'");
    expect(refused(['-f', valuesFile('clash.yaml', { belts: [{ name: 'a_b', replicas: 1 }, { name: 'A.b', replicas: 1 }] })])).toContain(
      'belts: "a_b" (project default) and "A.b" (project default) would share the Deployment name rel-beltline-belt-a-b',
    );
  });

  it('a setting the chart sets itself, a misspelt key, a short admin key, no database', () => {
    expect(refused(['--set', 'config.DATABASE_URL=postgres://x@y/z'])).toContain("at '/config/DATABASE_URL'");
    expect(refused(['--set', 'colector.replicas=3'])).toContain("additional properties 'colector' not allowed");
    expect(refused(['--set', 'secrets.adminKey=short'])).toContain("at '/secrets/adminKey'");
    expect(refused(['--set', 'postgresql.url='])).toContain('postgresql.url is required unless secrets.existingSecret names a Secret holding DATABASE_URL');
    expect(refused(['--set', 'collector.autoscaling.minReplicas=5', '--set', 'collector.autoscaling.maxReplicas=3'])).toContain('minReplicas (5) is more than maxReplicas (3)');
    // null removes a default in Helm's values.
    expect(refused(['-f', valuesFile('no-cpu.yaml', { collector: { resources: { requests: { cpu: null } } } })])).toContain('set collector.resources.requests.cpu');
  });
});

import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCrdDir, loadCrds, loadRegistry } from '../../core/crds.ts';
import { createAjv, createValidator, toAjvSchema } from '../../core/validation.ts';
import { parseManifests } from '../../core/yaml-io.ts';
import { QUANTITY_PATTERN } from '../../core/quantity.ts';
import { DURATION_PATTERN } from '../../core/duration.ts';
import type { ResourceType } from '../../core/resources.ts';

type Node = Record<string, unknown>;
const registry = loadRegistry();
const validator = createValidator(registry);
const repo = join(defaultCrdDir(), '..');
const kinds = registry.all();

/** Every schema node with its path, e.g. `spec.ports[].containerPort`. */
function walk(node: Node, path: string, visit: (n: Node, path: string) => void) {
  visit(node, path);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Node>)) walk(v, path ? `${path}.${k}` : k, visit);
  if (node.items && typeof node.items === 'object') walk(node.items as Node, `${path}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties as Node, `${path}{}`, visit);
}

const OBJECT_META = ['name', 'namespace', 'uid', 'labels', 'annotations', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'finalizers', 'ownerReferences', 'generateName'];

/** Does a printer-column JSONPath name a field the schema (or ObjectMeta) declares? */
function resolves(rt: ResourceType, jsonPath: string): boolean {
  const segs = jsonPath.replace(/\[\?\(@\.[^)]*\)\]/g, '[]').replace(/\[[0-9*]+\]/g, '[]').split('.').filter(Boolean);
  if (segs[0] === 'metadata') return OBJECT_META.includes(segs[1].replace('[]', ''));
  let node: Node | undefined = rt.schema;
  for (const seg of segs) {
    // `.spec.ref.*`: every property of an object that declares properties
    if (seg === '*') return Boolean(node?.properties);
    const name = seg.replace('[]', '');
    node = ((node?.properties ?? {}) as Record<string, Node>)[name];
    if (seg.endsWith('[]')) node = node?.items as Node | undefined;
    if (!node) return false;
  }
  return true;
}

describe('crds/', () => {
  it('defines the nine kinds with the agreed scope, store keys and names', () => {
    const summary = Object.fromEntries(kinds.map((k) => [k.kind, [k.namespaced ? 'Namespaced' : 'Cluster', k.key, k.shortNames.join(',')]]));
    expect(summary).toEqual({
      Cluster: ['Cluster', 'clusters.drover.dev', 'dcl'],
      Node: ['Namespaced', 'nodes.drover.dev', 'dno'],
      Container: ['Namespaced', 'containers.drover.dev', 'dco'],
      AgentDeployment: ['Namespaced', 'agentdeployments.drover.dev', 'ad'],
      Agent: ['Namespaced', 'agents.drover.dev', 'ag'],
      Task: ['Namespaced', 'tasks.drover.dev', 'dtask'],
      Event: ['Namespaced', 'events.drover.dev', 'dev'],
      GitRepository: ['Namespaced', 'gitrepositories.drover.dev', 'gitrepo'],
      ApplySet: ['Namespaced', 'applysets.drover.dev', 'aset'],
    });
    for (const k of kinds) {
      expect(k.apiVersion).toBe('drover.dev/v1alpha1');
      expect(k.categories).toContain('drover');
      expect(k.listKind).toBe(`${k.kind}List`);
    }
  });

  it('avoids kubectl core short names', () => {
    const core = ['no', 'ev', 'po', 'deploy', 'cs', 'ns', 'svc', 'cm', 'ds', 'rs', 'sts', 'ep', 'pv', 'pvc', 'sa', 'ing', 'hpa', 'pdb', 'netpol', 'sc', 'crd', 'rc', 'limits', 'quota', 'csr', 'cj'];
    for (const k of kinds) for (const s of k.shortNames) expect(core).not.toContain(s);
  });

  it('has a status subresource on every kind but ApplySet and Event, and scale on AgentDeployment', () => {
    expect(kinds.filter((k) => !k.hasStatus).map((k) => k.kind).sort()).toEqual(['ApplySet', 'Event']);
    expect(kinds.filter((k) => k.scale).map((k) => k.kind)).toEqual(['AgentDeployment']);
    const ad = registry.resolve('AgentDeployment')!;
    expect(ad.scale).toEqual({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
    for (const p of Object.values(ad.scale!)) expect(resolves(ad, p)).toBe(true);
  });

  it.each(kinds.map((k) => [k.kind, k] as const))('%s has a structural schema', (_kind, rt) => {
    const problems: string[] = [];
    walk(rt.schema, '', (n, path) => {
      if (n['x-kubernetes-int-or-string'] === true) {
        if (JSON.stringify(n.anyOf) !== JSON.stringify([{ type: 'integer' }, { type: 'string' }]) || n.type) problems.push(`${path}: int-or-string must be anyOf [integer, string] without type`);
        return;
      }
      if (typeof n.type !== 'string' && n['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(`${path}: no type`);
      if (n.properties && n.additionalProperties) problems.push(`${path}: properties and additionalProperties together`);
      if (n.type === 'object' && !n.properties && !n.additionalProperties && n['x-kubernetes-preserve-unknown-fields'] !== true && path !== 'metadata') {
        problems.push(`${path}: object without properties would be pruned`);
      }
      if (n['x-kubernetes-list-type'] === 'map') {
        const item = n.items as Node;
        for (const key of n['x-kubernetes-list-map-keys'] as string[]) {
          if (!((item.required as string[] | undefined) ?? []).includes(key)) problems.push(`${path}: list map key ${key} must be required`);
        }
      }
      if (n.format === 'duration') problems.push(`${path}: format duration is ISO 8601 in ajv; use the duration pattern`);
    });
    expect(problems).toEqual([]);
  });

  it.each(kinds.map((k) => [k.kind, k] as const))('%s printer columns resolve in the schema', (_kind, rt) => {
    expect(rt.printerColumns.length).toBeGreaterThan(0);
    for (const c of rt.printerColumns) expect([c.name, resolves(rt, c.jsonPath)]).toEqual([c.name, true]);
    expect(resolves(rt, '.spec.doesNotExist')).toBe(false);
  });

  it('every default validates against its own schema', () => {
    const ajv = createAjv();
    let count = 0;
    for (const rt of kinds) {
      walk(rt.schema, rt.kind, (n, path) => {
        if (n.default === undefined) return;
        count++;
        const validate = ajv.compile(toAjvSchema(n) as object);
        expect([path, validate(n.default), validate.errors ?? null]).toEqual([path, true, null]);
      });
    }
    expect(count).toBeGreaterThan(20);
  });

  it('uses the shared quantity and duration patterns everywhere', () => {
    const patterns = new Map<string, string>();
    for (const rt of kinds) walk(rt.schema, rt.kind, (n, path) => { if (typeof n.pattern === 'string') patterns.set(path, n.pattern); });
    const quantities = [...patterns].filter(([p]) => /\.(cpu|memory)$/.test(p));
    const durations = [...patterns].filter(([p]) => /(Interval|Period|interval|timeout|gracePeriod|minAge|startPeriod)$/.test(p));
    expect(quantities.length).toBeGreaterThan(10);
    expect(durations.length).toBeGreaterThan(5);
    for (const [, p] of quantities) expect(p).toBe(QUANTITY_PATTERN);
    for (const [, p] of durations) expect(p).toBe(DURATION_PATTERN);
  });

  it('resolves kinds by kind, plural, singular, short name and kind.group, case-insensitively', () => {
    for (const name of ['AgentDeployment', 'agentdeployments', 'agentdeployment', 'ad', 'AD', 'agentdeployments.drover.dev', 'AgentDeployment.drover.dev']) {
      expect(registry.resolve(name)?.kind).toBe('AgentDeployment');
    }
    expect(registry.resolve('pods')).toBeUndefined();
    expect(registry.byKey('tasks.drover.dev')?.kind).toBe('Task');
    expect(registry.byPlural('drover.dev', 'nodes')?.kind).toBe('Node');
    expect(registry.byApiVersionKind('drover.dev/v1alpha1', 'Event')?.plural).toBe('events');
    expect(registry.byApiVersionKind('drover.dev/v1', 'Event')).toBeUndefined();
  });

  it('names the file when a CRD is malformed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-crds-'));
    writeFileSync(join(dir, 'good.yaml'), readFileSync(join(defaultCrdDir(), 'task.yaml')));
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.drover.dev}\nspec: {group: drover.dev}\n');
    expect(() => loadCrds(dir)).toThrow(/broken\.yaml: malformed CustomResourceDefinition: spec\.scope/);
    writeFileSync(join(dir, 'broken.yaml'), 'spec: [unclosed\n');
    expect(() => loadRegistry(dir)).toThrow(/broken\.yaml: invalid YAML/);
  });

  it('the quickstart manifests are valid and describe the demo fleet', () => {
    const dir = join(repo, 'manifests', 'quickstart');
    const docs = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
      .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8'), f));
    const admitted = docs.map((d) => validator.admit(registry.byApiVersionKind(d.object.apiVersion, d.object.kind)!, d.object));
    expect(admitted.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Cluster//demo', 'Container/demo/agent-host-1', 'Container/demo/agent-host-2', 'AgentDeployment/demo/trading', 'Container/demo/db', 'Container/demo/web',
    ]);
    expect(admitted[0].spec).toMatchObject({ failurePolicy: { heartbeatInterval: '2s', gracePeriod: '10s' }, rebalancePolicy: { enabled: true } });
    expect(admitted[3].spec).toMatchObject({ replicas: 4, updateStrategy: { type: 'RollingUpdate' } });
    expect(admitted.filter((o) => o.kind === 'Container' && (o.spec as Node).agentHost).map((o) => o.metadata.name)).toEqual(['agent-host-1', 'agent-host-2']);
    // the stack: web waits for db to be healthy
    expect(admitted.find((o) => o.metadata.name === 'web')?.spec).toMatchObject({ dependsOn: [{ name: 'db', condition: 'Healthy' }] });
  });

  it('the invalid example fails with one cause per planted mistake', () => {
    const file = join(repo, 'manifests', 'examples', 'invalid-agentdeployment.yaml');
    const [doc] = parseManifests(readFileSync(file, 'utf8'), file);
    const { causes } = validator.check(registry.resolve('ad')!, doc.object);
    expect(causes.map((c) => c.field).sort()).toEqual([
      'metadata.name', 'spec.migration.timeout', 'spec.placement.colour', 'spec.placement.maxPerContainer',
      'spec.placement.strategy', 'spec.replicas', 'spec.template.resources.requests.cpu',
    ]);
  });

  // The canonical shape from DESIGN.md §1: every field the design names must exist in the CRDs.
  it('accepts the canonical shape of the design document unchanged', () => {
    const canonical = `
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: customer1}
spec:
  placement: {strategy: LeastLoaded}
  failurePolicy: {heartbeatInterval: 2s, gracePeriod: 10s}
  rebalancePolicy: {enabled: true, interval: 5m, threshold: 0.2, maxMigrationsPerRound: 5}
---
apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: orchestrator-1, namespace: customer1, labels: {tier: agents}}
spec:
  image: example/orchestrator:1.0
  command: [/bin/sh, -c, "exec sleep infinity"]
  env: [{name: LOG_LEVEL, value: info}]
  ports: [{containerPort: 8001, hostPort: 18001}]
  resources: {requests: {cpu: 500m, memory: 256Mi}, limits: {cpu: "2", memory: 1Gi}}
  restartPolicy: Always
  healthCheck: {http: {path: /health, port: 18001}, interval: 5s, timeout: 2s, retries: 3}
  dependsOn: [{name: redis, condition: Healthy}]
  nodeSelector: {zone: eu-1}
  agentHost: {capabilities: [gpu_compute], capacity: {agents: 8, cpu: "4", memory: 4Gi}}
---
apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: trading, namespace: customer1}
spec:
  agentType: trading
  replicas: 6
  template:
    command: [node, agents/trading.js]
    config: {strategy: momentum}
    resources: {requests: {cpu: 250m, memory: 128Mi}}
  placement:
    strategy: Spread
    spreadBy: node
    requiredCapabilities: []
    preferredCapabilities: [gpu_compute]
    containerSelector: {matchLabels: {tier: agents}}
    maxPerContainer: 4
  disruption: {maxUnavailable: 1}
`;
    for (const d of parseManifests(canonical, 'DESIGN.md')) {
      const rt = registry.byApiVersionKind(d.object.apiVersion, d.object.kind)!;
      expect([d.object.kind, validator.check(rt, d.object).causes]).toEqual([d.object.kind, []]);
    }
  });
});

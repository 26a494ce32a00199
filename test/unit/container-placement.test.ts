import { describe, it, expect } from '@jest/globals';
import {
  placeContainer, defaultFilters, leastAllocated, spreadByLabels, PlacementReasons, untoleratedTaint,
  notReady, cordoned, nodeNameMatches, nodeSelectorMatches, taintsTolerated, cpuFits, memoryFits, containerSlotFree,
  type PlacementFilter, type PlacementView,
} from '../../reconcilers/container-placement.ts';
import type { KubeObject } from '../../core/types.ts';

const V = 'drover.dev/v1alpha1';

interface NodeOpts {
  ready?: boolean;
  unschedulable?: boolean;
  labels?: Record<string, string>;
  specLabels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  alloc?: Record<string, unknown>;
}
function node(name: string, o: NodeOpts = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1', labels: o.labels },
    spec: { unschedulable: o.unschedulable ?? false, labels: o.specLabels, taints: o.taints },
    status: { allocatable: o.alloc ?? { cpu: '4', memory: '4Gi', containers: 10 }, conditions: [{ type: 'Ready', status: o.ready === false ? 'Unknown' : 'True' }] },
  };
}
function ctr(name: string, spec: Record<string, unknown> = {}, nodeName?: string, labels?: Record<string, string>): KubeObject {
  return { apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1', labels }, spec, status: nodeName ? { nodeName, phase: 'Running' } : {} };
}
const req = (cpu: string, memory: string) => ({ resources: { requests: { cpu, memory } } });
const view = (nodes: KubeObject[], containers: KubeObject[] = []): PlacementView => ({ nodes, containers });

describe('placement filters', () => {
  it.each<{ name: string; filter: PlacementFilter; node: KubeObject; container: KubeObject; others?: KubeObject[]; want: string | null }>([
    { name: 'ready node passes', filter: notReady, node: node('a'), container: ctr('x'), want: null },
    { name: 'NotReady node is rejected', filter: notReady, node: node('a', { ready: false }), container: ctr('x'), want: 'not ready' },
    { name: 'cordoned node is rejected', filter: cordoned, node: node('a', { unschedulable: true }), container: ctr('x'), want: 'unschedulable (cordoned)' },
    { name: 'a pin to the cordoned node wins', filter: cordoned, node: node('a', { unschedulable: true }), container: ctr('x', { nodeName: 'a' }), want: null },
    { name: 'pinned elsewhere', filter: nodeNameMatches, node: node('a'), container: ctr('x', { nodeName: 'b' }), want: 'node name mismatch' },
    { name: 'pinned here', filter: nodeNameMatches, node: node('a'), container: ctr('x', { nodeName: 'a' }), want: null },
    { name: 'selector matches metadata label', filter: nodeSelectorMatches, node: node('a', { labels: { zone: 'eu-1' } }), container: ctr('x', { nodeSelector: { zone: 'eu-1' } }), want: null },
    { name: 'selector matches agent-reported spec label', filter: nodeSelectorMatches, node: node('a', { specLabels: { gpu: 'yes' } }), container: ctr('x', { nodeSelector: { gpu: 'yes' } }), want: null },
    { name: 'metadata label overrides spec label', filter: nodeSelectorMatches, node: node('a', { specLabels: { zone: 'eu-1' }, labels: { zone: 'us-1' } }), container: ctr('x', { nodeSelector: { zone: 'eu-1' } }), want: 'node selector mismatch' },
    { name: 'selector mismatch', filter: nodeSelectorMatches, node: node('a', { labels: { zone: 'us-1' } }), container: ctr('x', { nodeSelector: { zone: 'eu-1' } }), want: 'node selector mismatch' },
    { name: 'untolerated NoSchedule taint', filter: taintsTolerated, node: node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), container: ctr('x'), want: 'untolerated taint dedicated' },
    { name: 'Equal toleration', filter: taintsTolerated, node: node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), container: ctr('x', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db' }] }), want: null },
    { name: 'Equal toleration with another value', filter: taintsTolerated, node: node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), container: ctr('x', { tolerations: [{ key: 'dedicated', value: 'web' }] }), want: untoleratedTaint('dedicated') },
    { name: 'Exists without key tolerates all', filter: taintsTolerated, node: node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), container: ctr('x', { tolerations: [{ operator: 'Exists' }] }), want: null },
    { name: 'toleration for another effect', filter: taintsTolerated, node: node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), container: ctr('x', { tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }] }), want: 'untolerated taint k' },
    { name: 'PreferNoSchedule is not a filter', filter: taintsTolerated, node: node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), container: ctr('x'), want: null },
    { name: 'cpu fits exactly', filter: cpuFits, node: node('a', { alloc: { cpu: '1' } }), container: ctr('x', req('500m', '1Mi')), others: [ctr('y', req('500m', '1Mi'), 'a')], want: null },
    { name: 'cpu does not fit', filter: cpuFits, node: node('a', { alloc: { cpu: '1' } }), container: ctr('x', req('600m', '1Mi')), others: [ctr('y', req('500m', '1Mi'), 'a')], want: 'insufficient cpu' },
    { name: 'requests of containers on other nodes do not count', filter: cpuFits, node: node('a', { alloc: { cpu: '1' } }), container: ctr('x', req('600m', '1Mi')), others: [ctr('y', req('500m', '1Mi'), 'b')], want: null },
    { name: 'memory does not fit', filter: memoryFits, node: node('a', { alloc: { memory: '1Gi' } }), container: ctr('x', req('1m', '768Mi')), others: [ctr('y', req('1m', '512Mi'), 'a')], want: 'insufficient memory' },
    { name: 'unreported memory is unlimited', filter: memoryFits, node: node('a', { alloc: { cpu: '1' } }), container: ctr('x', req('1m', '64Gi')), want: null },
    { name: 'container slots full', filter: containerSlotFree, node: node('a', { alloc: { containers: 1 } }), container: ctr('x'), others: [ctr('y', {}, 'a')], want: 'too many containers' },
    { name: 'a container does not count against itself', filter: containerSlotFree, node: node('a', { alloc: { containers: 1 } }), container: ctr('x', {}, 'a'), others: [ctr('x', {}, 'a')], want: null },
  ])('$name', ({ filter, node: n, container, others, want }) => {
    expect(filter(n, container, view([n], others ?? []))).toBe(want);
  });
});

describe('placement scorers', () => {
  it('least allocated prefers the emptier node', () => {
    const a = node('a', { alloc: { cpu: '2', memory: '2Gi' } });
    const b = node('b', { alloc: { cpu: '2', memory: '2Gi' } });
    const v = view([a, b], [ctr('busy', req('1', '1Gi'), 'a')]);
    const x = ctr('x', req('500m', '256Mi'));
    expect(leastAllocated(b, x, v)).toBeGreaterThan(leastAllocated(a, x, v));
    expect(leastAllocated(a, x, v)).toBeGreaterThanOrEqual(0);
    expect(leastAllocated(b, x, v)).toBeLessThanOrEqual(1);
  });

  it('spread scores fewer matching containers higher and ignores non-matching ones', () => {
    const a = node('a');
    const b = node('b');
    const v = view([a, b], [ctr('w1', {}, 'a', { app: 'web' }), ctr('db', {}, 'b', { app: 'db' })]);
    const x = ctr('w2', { spread: { matchLabels: { app: 'web' } } }, undefined, { app: 'web' });
    expect(spreadByLabels(a, x, v)).toBe(0.5);
    expect(spreadByLabels(b, x, v)).toBe(1);
  });
});

describe('placeContainer', () => {
  it.each([
    {
      name: 'picks the least allocated node',
      nodes: [node('a'), node('b')],
      containers: [ctr('busy', req('2', '2Gi'), 'a')],
      container: ctr('x', req('100m', '64Mi')),
      want: { node: 'b' },
    },
    {
      name: 'ties go to the first node by name',
      nodes: [node('c'), node('b'), node('a')],
      containers: [],
      container: ctr('x', req('100m', '64Mi')),
      want: { node: 'a' },
    },
    {
      name: 'spread beats a slightly fuller node',
      nodes: [node('a'), node('b')],
      containers: [ctr('w1', req('100m', '64Mi'), 'a', { app: 'web' }), ctr('other', req('1', '1Gi'), 'b')],
      container: ctr('w2', { ...req('100m', '64Mi'), spread: { matchLabels: { app: 'web' } } }),
      want: { node: 'b' },
    },
    {
      name: 'a pin is honoured even on a cordoned node',
      nodes: [node('a'), node('b', { unschedulable: true })],
      containers: [],
      container: ctr('x', { nodeName: 'b' }),
      want: { node: 'b' },
    },
  ])('$name', ({ nodes, containers, container, want }) => {
    expect(placeContainer(container, view(nodes, containers))).toMatchObject(want);
  });

  it.each([
    {
      name: 'counts each node under its first failing reason, in filter order',
      nodes: [node('a', { alloc: { memory: '128Mi' } }), node('b', { ready: false }), node('c', { alloc: { memory: '64Mi' } })],
      container: ctr('x', req('100m', '256Mi')),
      reasons: { [PlacementReasons.NotReady]: 1, [PlacementReasons.InsufficientMemory]: 2 },
      message: '0/3 nodes: 1 not ready, 2 insufficient memory',
    },
    {
      name: 'cordon, selector and taint',
      nodes: [node('a', { unschedulable: true }), node('b', { labels: { zone: 'us' } }), node('c', { labels: { zone: 'eu' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] })],
      container: ctr('x', { nodeSelector: { zone: 'eu' } }),
      reasons: { 'unschedulable (cordoned)': 1, 'node selector mismatch': 1, 'untolerated taint gpu': 1 },
      message: '0/3 nodes: 1 unschedulable (cordoned), 1 node selector mismatch, 1 untolerated taint gpu',
    },
    {
      name: 'pinned to a missing node',
      nodes: [node('a'), node('b')],
      container: ctr('x', { nodeName: 'zz' }),
      reasons: { 'node name mismatch': 2 },
      message: '0/2 nodes: 2 node name mismatch',
    },
    { name: 'no nodes at all', nodes: [], container: ctr('x'), reasons: {}, message: '0/0 nodes: no nodes have joined this cluster' },
  ])('unschedulable: $name', ({ nodes, container, reasons, message }) => {
    const res = placeContainer(container, view(nodes));
    expect(res).toEqual({ reasons, message });
  });

  it('uses the filters it is given (the default list covers every named reason)', () => {
    expect(defaultFilters).toHaveLength(8);
    const onlyReady = placeContainer(ctr('x', req('100', '1Ti')), view([node('a')]), { filters: [notReady] });
    expect(onlyReady).toMatchObject({ node: 'a' });
  });
});

describe('per-node lookups', () => {
  it('a view with a per-node index places exactly as a full scan does', async () => {
    const { placeContainer, boundNode } = await import('../../reconcilers/container-placement.ts');
    const mk = (name: string, labels: Record<string, string>, node?: string, cpu = '500m') => ({
      apiVersion: 'drover.dev/v1alpha1', kind: 'Container',
      metadata: { name, namespace: 'c1', labels },
      spec: { image: 'x', resources: { requests: { cpu, memory: '64Mi' } }, spread: { matchLabels: { app: 'w' } } },
      ...(node ? { status: { nodeName: node } } : {}),
    });
    const node = (name: string) => ({
      apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name, namespace: 'c1' },
      status: { conditions: [{ type: 'Ready', status: 'True' }], capacity: { cpu: '2', memory: '1Gi', containers: 3 } },
    });
    const nodes = ['n1', 'n2', 'n3'].map(node);
    const containers = [mk('a', { app: 'w' }, 'n1'), mk('b', { app: 'w' }, 'n1'), mk('c', { app: 'w' }, 'n2'), mk('d', {}, 'n3', '1800m'), mk('e', {}, 'n2')];
    const byNode = (n: string) => containers.filter((c) => boundNode(c) === n);
    for (const want of [mk('new', { app: 'w' }), mk('big', { app: 'w' }, undefined, '1500m'), mk('a', { app: 'w' })]) {
      const scan = placeContainer(want, { nodes, containers });
      const indexed = placeContainer(want, { nodes, containers: [], boundTo: byNode });
      expect(indexed).toEqual(scan);
    }
    expect(placeContainer(mk('new', { app: 'w' }), { nodes, containers: [], boundTo: byNode })).toEqual({ node: 'n2', score: expect.any(Number) });
  });
});

// Cluster status: agent-host capacity vs allocated, load per container, imbalance and pending counts
// from the pure reconciler; and `drover status` against an in-process API.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { reconcileCluster, type ClusterSnapshot } from '../../reconcilers/cluster-reconciler.ts';
import type { KubeObject } from '../../core/types.ts';
import { startApi, cluster as clusterObj, type Harness } from './api-harness.ts';
import { run } from '../../cli/program.ts';
import { captureIo } from './cli-fake-api.ts';

const NOW = Date.UTC(2026, 10, 5, 12, 0, 0);
const cluster: KubeObject = { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c1', generation: 1 }, spec: {} };

function node(name: string, ready: boolean, labels: Record<string, string> = {}, unschedulable = false): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name, namespace: 'c1', labels }, spec: { unschedulable },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
function host(name: string, nodeName: string | undefined, phase: string, capacity: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: 'c1' },
    spec: { image: 'x', agentHost: { capabilities: [], capacity } }, status: { phase, ...(nodeName ? { nodeName } : {}) },
  };
}
function agent(name: string, containerName?: string, extra: { phase?: string; reason?: string; message?: string; cpu?: string; deleting?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Agent',
    metadata: { name, namespace: 'c1', ...(extra.deleting ? { deletionTimestamp: '2026-11-05T11:00:00Z' } : {}) },
    spec: { agentType: 'trading', ...(containerName ? { containerName } : {}), ...(extra.cpu ? { resources: { requests: { cpu: extra.cpu } } } : {}) },
    status: { phase: extra.phase ?? (containerName ? 'Running' : 'Pending'), ...(extra.reason ? { reason: extra.reason } : {}), ...(extra.message ? { message: extra.message } : {}) },
  };
}
const agents = (n: number, c: string, prefix = c) => Array.from({ length: n }, (_, i) => agent(`${prefix}-a${i}`, c));

describe('reconcileCluster: agent hosts and load', () => {
  it.each([
    {
      name: 'no agent hosts',
      snap: { nodes: [], containers: [], agents: [], agentDeployments: [] },
      agentHosts: { containers: 0, capacity: { agents: 0, cpu: '0', memory: '0' }, allocated: { agents: 0, cpu: '0', memory: '0' } },
      load: [], imbalance: '0.00', pendingAgents: 0, unplacedAgents: 0,
    },
    {
      name: 'two hosts 6/8 and 2/8: imbalance 0.75 − 0.50',
      snap: { nodes: [], containers: [host('c1', 'n1', 'Running', { agents: 8 }), host('c2', 'n2', 'Running', { agents: 8 })], agents: [...agents(6, 'c1'), ...agents(2, 'c2')], agentDeployments: [] },
      agentHosts: { containers: 2, capacity: { agents: 16, cpu: '0', memory: '0' }, allocated: { agents: 8, cpu: '0', memory: '0' } },
      load: [{ container: 'c1', node: 'n1', agents: 6, capacity: 8, ratio: 0.75 }, { container: 'c2', node: 'n2', agents: 2, capacity: 8, ratio: 0.25 }],
      imbalance: '0.25', pendingAgents: 0, unplacedAgents: 0,
    },
    {
      name: 'cpu is the tighter dimension; a Failed host and terminating agents do not count',
      snap: {
        nodes: [],
        containers: [host('c1', 'n1', 'Running', { agents: 10, cpu: '1' }), host('dead', 'n1', 'Failed', { agents: 10 })],
        agents: [agent('x', 'c1', { cpu: '500m' }), agent('y', 'c1', { cpu: '250m' }), agent('z', 'c1', { deleting: true, cpu: '250m' }), agent('w', 'dead')],
        agentDeployments: [],
      },
      agentHosts: { containers: 1, capacity: { agents: 10, cpu: '1', memory: '0' }, allocated: { agents: 2, cpu: '750m', memory: '0' } },
      load: [{ container: 'c1', node: 'n1', agents: 2, capacity: 10, ratio: 0.75 }],
      imbalance: '0.00', pendingAgents: 0, unplacedAgents: 0,
    },
    {
      name: 'pending agents, one of them unschedulable',
      snap: { nodes: [], containers: [host('c1', 'n1', 'Running', { agents: 4 })], agents: [agent('p1'), agent('p2', undefined, { reason: 'Unschedulable' }), agent('r', 'c1')], agentDeployments: [] },
      agentHosts: { containers: 1, capacity: { agents: 4, cpu: '0', memory: '0' }, allocated: { agents: 1, cpu: '0', memory: '0' } },
      load: [{ container: 'c1', node: 'n1', agents: 1, capacity: 4, ratio: 0.25 }],
      imbalance: '0.00', pendingAgents: 2, unplacedAgents: 1,
    },
  ])('$name', ({ snap, agentHosts, load, imbalance, pendingAgents, unplacedAgents }) => {
    const res = reconcileCluster(cluster, snap as ClusterSnapshot, NOW);
    expect(res.status).toMatchObject({ agentHosts, load, imbalance, pendingAgents, unplacedAgents });
  });

  it('keeps at most 50 load entries, the most loaded first', () => {
    const containers = Array.from({ length: 60 }, (_, i) => host(`h${String(i).padStart(2, '0')}`, 'n1', 'Running', { agents: 100 }));
    const placed = containers.flatMap((c, i) => agents(i, c.metadata.name));
    const status = reconcileCluster(cluster, { nodes: [], containers, agents: placed, agentDeployments: [] }, NOW).status!;
    const load = status.load as Array<{ container: string; ratio: number }>;
    expect(load).toHaveLength(50);
    expect(load[0]).toMatchObject({ container: 'h59', ratio: 0.59 });
    expect(load[49].container).toBe('h10');
    expect((status.agentHosts as { containers: number }).containers).toBe(60);
  });

  it('writes no status when nothing changed', () => {
    const snap = { nodes: [], containers: [host('c1', 'n1', 'Running', { agents: 8 })], agents: agents(3, 'c1'), agentDeployments: [] };
    const first = reconcileCluster(cluster, snap, NOW).status!;
    expect(reconcileCluster({ ...cluster, status: first }, snap, NOW + 1000).status).toBeUndefined();
  });
});

describe('drover status', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
    await h.store.create('clusters.drover.dev', clusterObj('c1'));
    await h.store.create('clusters.drover.dev', clusterObj('empty'));
    const objects: Array<[string, KubeObject]> = [
      ['nodes.drover.dev', node('node-a', true, { zone: 'a' })],
      ['nodes.drover.dev', node('node-b', false, { zone: 'b' }, true)],
      ['containers.drover.dev', host('c1', 'node-a', 'Running', { agents: 8 })],
      ['containers.drover.dev', host('c2', 'node-b', 'Unknown', { agents: 4 })],
      ['containers.drover.dev', host('c3', undefined, 'Pending', { agents: 4 })],
      ['agents.drover.dev', agent('trading-x2k4p', 'c1')],
      ['agents.drover.dev', agent('trading-b7q9z', 'c1', { phase: 'Starting' })],
      ['agents.drover.dev', agent('trading-m3n8d', 'c1')],
      ['agents.drover.dev', agent('risk-k2p4r', 'c2', { phase: 'Running' })],
      ['agents.drover.dev', agent('gpu-q9w8e', undefined, { reason: 'Unschedulable', message: '0/2 containers: 2 lack capability gpu_compute' })],
    ];
    for (const [k, o] of objects) await h.store.create(k, o);
  });
  afterAll(async () => {
    await h.close();
  });

  const drover = async (...args: string[]) => {
    const cap = captureIo({ env: { DROVER_CONFIG: '/nonexistent/drover-config' } });
    const code = await run(['--server', h.url, '--token', 'admin-token', ...args], cap.io);
    return { code, out: cap.stdout(), err: cap.stderr() };
  };

  it('prints the overview and the topology tree, marking NotReady nodes and listing unscheduled agents', async () => {
    const r = await drover('status', '-n', 'c1');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Cluster c1: Ready');
    expect(r.out).toMatch(/^ {2}nodes\s+1\/2 ready$/m);
    expect(r.out).toMatch(/^ {2}containers\s+1\/3 running$/m);
    expect(r.out).toMatch(/^ {2}agents\s+3\/5 running, 1 pending \(1 unschedulable\)$/m);
    // c2 is not Running: only c1's 8 slots count
    expect(r.out).toMatch(/^ {2}agent slots\s+3\/8 on 1 agent host \(cpu 0\/0, memory 0\/0\)$/m);
    expect(r.out).toMatch(/^ {2}imbalance\s+0\.00 \(most loaded: c1 38%\)$/m);
    const tree = lines.slice(lines.indexOf('topology:') + 1).join('\n');
    expect(tree).toBe([
      'node-a (Ready, zone=a)',
      '  container c1 (Running, 3/8 agents)',
      '    agent trading-b7q9z (Starting)',
      '    agent trading-m3n8d (Running)',
      '    agent trading-x2k4p (Running)',
      'node-b (NotReady, cordoned, zone=b)  <- not ready',
      '  container c2 (Unknown, 1/4 agents)',
      '    agent risk-k2p4r (Running)',
      'unplaced containers:',
      '  container c3 (Pending, 0/4 agents)',
      'unscheduled:',
      '  agent gpu-q9w8e (Pending): 0/2 containers: 2 lack capability gpu_compute',
      '',
    ].join('\n'));
  });

  it('says so for an empty cluster', async () => {
    const r = await drover('status', '-n', 'empty');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Cluster empty: NotReady');
    expect(r.out).toContain('topology:\n  (no nodes)\n');
  });

  it('gives the raw views with -o json and refuses other formats', async () => {
    const r = await drover('status', '-n', 'c1', '-o', 'json');
    const parsed = JSON.parse(r.out);
    expect(parsed.overview).toMatchObject({ cluster: 'c1', nodes: { total: 2, ready: 1 }, agents: { total: 5, pending: 1, unplaced: 1 } });
    expect(parsed.topology.unscheduled).toEqual([{ name: 'gpu-q9w8e', phase: 'Pending', agentType: 'trading', message: '0/2 containers: 2 lack capability gpu_compute' }]);
    const bad = await drover('status', '-o', 'yaml');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown output format "yaml"');
  });
});

import { describe, it, expect } from '@jest/globals';
import { reconcileCluster, type ClusterSnapshot } from '../../reconcilers/cluster-reconciler.ts';
import type { Condition, KubeObject } from '../../core/types.ts';

const NOW = Date.UTC(2026, 10, 5, 12, 0, 0);
const EARLIER = '2026-11-01T08:00:00Z';

function cluster(status?: Record<string, unknown>, generation = 3): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c1', uid: 'u-c1', generation }, spec: {}, status };
}
function node(name: string, ready: boolean, allocatable = { cpu: '2', memory: '4Gi', containers: 10, agents: 20 }): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name, namespace: 'c1' }, spec: {},
    status: { allocatable, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
function container(name: string, phase: string, nodeName?: string, requests = { cpu: '500m', memory: '256Mi' }): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: 'c1' }, spec: { image: 'x', resources: { requests } }, status: { phase, nodeName } };
}
function agent(name: string, phase: string, containerName?: string): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Agent', metadata: { name, namespace: 'c1' }, spec: { containerName }, status: { phase } };
}
const deployment = (name: string): KubeObject => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name, namespace: 'c1' }, spec: {} });
const empty: ClusterSnapshot = { nodes: [], containers: [], agents: [], agentDeployments: [] };
const ready = (status: Record<string, unknown> | undefined) => (status?.conditions as Condition[]).find((c) => c.type === 'Ready')!;

describe('reconcileCluster', () => {
  it.each([
    {
      name: 'empty cluster',
      snap: empty,
      counts: { nodes: 0, readyNodes: 0, containers: 0, runningContainers: 0, agents: 0, runningAgents: 0, agentDeployments: 0 },
      capacity: { cpu: '0', memory: '0', containers: 0, agents: 0 },
      allocated: { cpu: '0', memory: '0', containers: 0, agents: 0 },
    },
    {
      name: 'two nodes (one ready), three containers, three agents',
      snap: {
        nodes: [node('n1', true), node('n2', false)],
        containers: [container('a', 'Running', 'n1'), container('b', 'Pending'), container('c', 'Starting', 'n1', { cpu: '1', memory: '1Gi' })],
        agents: [agent('x', 'Running', 'a'), agent('y', 'Pending'), agent('z', 'Running', 'c')],
        agentDeployments: [deployment('trading')],
      },
      counts: { nodes: 2, readyNodes: 1, containers: 3, runningContainers: 1, agents: 3, runningAgents: 2, agentDeployments: 1 },
      // Capacity counts ready nodes only; allocation counts placed containers only.
      capacity: { cpu: '2', memory: '4Gi', containers: 10, agents: 20 },
      allocated: { cpu: '1500m', memory: '1280Mi', containers: 2, agents: 2 },
    },
  ])('counts and sums: $name', ({ snap, counts, capacity, allocated }) => {
    const res = reconcileCluster(cluster(), snap, NOW);
    expect(res.status).toMatchObject({ observedGeneration: 3, ...counts, capacity, allocated });
  });

  it.each([
    { name: 'no nodes', nodes: [], status: 'False', reason: 'NoNodes', message: /no nodes have joined; run drover agent/ },
    { name: 'nodes but none ready', nodes: [node('n1', false), node('n2', false)], status: 'False', reason: 'NoReadyNodes', message: /0\/2 nodes are ready/ },
    { name: 'one ready node of two', nodes: [node('n1', true), node('n2', false)], status: 'True', reason: 'NodesReady', message: /1\/2 nodes are ready/ },
  ])('Ready condition: $name', ({ nodes, status, reason, message }) => {
    const res = reconcileCluster(cluster(), { ...empty, nodes }, NOW);
    const c = ready(res.status);
    expect(c).toMatchObject({ status, reason, observedGeneration: 3, lastTransitionTime: '2026-11-05T12:00:00Z' });
    expect(c.message).toMatch(message);
  });

  it.each([
    { name: 'status unchanged keeps the transition time, no event', prev: 'True', prevReason: 'NodesReady', nodes: [node('n1', true)], time: EARLIER, event: undefined },
    { name: 'reason changes within False keeps the time, records an event', prev: 'False', prevReason: 'NoNodes', nodes: [node('n1', false)], time: EARLIER, event: 'ClusterNotReady' },
    { name: 'False → True moves the time, records ClusterReady', prev: 'False', prevReason: 'NoNodes', nodes: [node('n1', true)], time: '2026-11-05T12:00:00Z', event: 'ClusterReady' },
    { name: 'True → False moves the time, records ClusterNotReady', prev: 'True', prevReason: 'NodesReady', nodes: [node('n1', false)], time: '2026-11-05T12:00:00Z', event: 'ClusterNotReady' },
  ])('transitions: $name', ({ prev, prevReason, nodes, time, event }) => {
    const old = { conditions: [{ type: 'Ready', status: prev, reason: prevReason, lastTransitionTime: EARLIER }] };
    const res = reconcileCluster(cluster(old), { ...empty, nodes }, NOW);
    expect(ready(res.status).lastTransitionTime).toBe(time);
    expect(res.events?.map((e) => e.reason)).toEqual(event ? [event] : undefined);
    if (event === 'ClusterNotReady') expect(res.events![0].type).toBe('Warning');
  });

  it('returns no status when nothing changed (applying the diff twice is a no-op)', () => {
    const snap = { ...empty, nodes: [node('n1', true)] };
    const first = reconcileCluster(cluster(), snap, NOW);
    const second = reconcileCluster(cluster(first.status), snap, NOW + 60_000);
    expect(second).toEqual({});
  });

  it('keeps conditions owned by other controllers', () => {
    const other = { type: 'Rebalanced', status: 'True', reason: 'Balanced', lastTransitionTime: EARLIER };
    const res = reconcileCluster(cluster({ conditions: [other] }), empty, NOW);
    expect(res.status?.conditions).toEqual([other, expect.objectContaining({ type: 'Ready' })]);
  });
});

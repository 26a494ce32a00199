import { describe, it, expect } from '@jest/globals';
import {
  AgentFilterReasons as R, lackCapability, unschedulableMessage, defaultAgentFilters,
  containerRunning, nodeReady, nodeNotCordoned, nodeNotFlapping, isAgentHost, notExcluded, hasCapabilities,
  selectorMatches, agentSlotFree, cpuFits, memoryFits, underMaxPerContainer, type AgentFilter,
} from '../../reconcilers/agent-filters.ts';
import { SchedulerState, isNodeFlapping, type ScheduleOptions } from '../../reconcilers/agent-scheduler-state.ts';
import type { KubeObject } from '../../core/types.ts';
import { node, ctr, agent, view, NOW } from './agent-scheduler-fixtures.ts';

const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const MIN = 60_000;

interface Case {
  name: string;
  filter: AgentFilter;
  container?: KubeObject;
  agent?: KubeObject;
  nodes?: KubeObject[];
  bound?: KubeObject[];
  opts?: ScheduleOptions;
  want: string | null;
}

function run(c: Case): string | null {
  const container = c.container ?? ctr('c', 'n');
  const a = c.agent ?? agent('x');
  const state = new SchedulerState(view(c.nodes ?? [node('n')], [container], c.bound ?? []), new Set([a.metadata.name]));
  const cs = state.byName.get(container.metadata.name)!;
  return c.filter(container, a, state.view, { state, container: cs, agent: state.request(a, c.opts) });
}

describe('agent filters', () => {
  it.each<Case>([
    { name: 'running container passes', filter: containerRunning, want: null },
    ...['Pending', 'Starting', 'Failed', 'Stopped', 'Unknown'].map((phase) => ({
      name: `${phase} container is rejected`, filter: containerRunning, container: ctr('c', 'n', { phase }), want: R.ContainerNotRunning,
    })),
    { name: 'ready node passes', filter: nodeReady, want: null },
    { name: 'NotReady node is rejected', filter: nodeReady, nodes: [node('n', { ready: false })], want: R.NodeNotReady },
    { name: 'a node missing from the view is not ready', filter: nodeReady, nodes: [], want: R.NodeNotReady },
    { name: 'cordoned node is rejected', filter: nodeNotCordoned, nodes: [node('n', { unschedulable: true })], want: R.NodeCordoned },
    { name: 'uncordoned node passes', filter: nodeNotCordoned, want: null },
    { name: 'flapping node is rejected', filter: nodeNotFlapping, nodes: [node('n', { transitions: [iso(4 * MIN), iso(3 * MIN), iso(2 * MIN), iso(1 * MIN)] })], want: R.NodeFlapping },
    { name: 'stable node passes', filter: nodeNotFlapping, nodes: [node('n', { transitions: [iso(1 * MIN)] })], want: null },
    { name: 'plain container is not an agent host', filter: isAgentHost, container: ctr('c', 'n', { host: false }), want: R.NotAgentHost },
    { name: 'agent host passes', filter: isAgentHost, want: null },
    { name: 'excluded container is rejected', filter: notExcluded, opts: { exclude: { x: ['c'] } }, want: R.Excluded },
    { name: 'exclusion of another agent does not apply', filter: notExcluded, opts: { exclude: { y: ['c'] } }, want: null },
    { name: 'has the required capability', filter: hasCapabilities, container: ctr('c', 'n', { caps: ['gpu_compute'] }), agent: agent('x', { required: ['gpu_compute'] }), want: null },
    { name: 'names the first missing capability', filter: hasCapabilities, container: ctr('c', 'n', { caps: ['avx'] }), agent: agent('x', { required: ['avx', 'fpga', 'gpu_compute'] }), want: lackCapability('fpga') },
    { name: 'preferred capabilities do not filter', filter: hasCapabilities, agent: agent('x', { preferred: ['gpu_compute'] }), want: null },
    { name: 'matchLabels selects', filter: selectorMatches, container: ctr('c', 'n', { labels: { tier: 'agents' } }), agent: agent('x', { selector: { matchLabels: { tier: 'agents' } } }), want: null },
    { name: 'matchLabels mismatch', filter: selectorMatches, container: ctr('c', 'n', { labels: { tier: 'web' } }), agent: agent('x', { selector: { matchLabels: { tier: 'agents' } } }), want: R.SelectorMismatch },
    { name: 'matchExpressions NotIn', filter: selectorMatches, container: ctr('c', 'n', { labels: { zone: 'eu' } }), agent: agent('x', { selector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['eu'] }] } }), want: R.SelectorMismatch },
    { name: 'malformed selector matches nothing', filter: selectorMatches, agent: agent('x', { selector: { matchExpressions: [{ key: 'zone', operator: 'In' }] } }), want: R.SelectorMismatch },
    { name: 'default capacity is 10 agents', filter: agentSlotFree, bound: Array.from({ length: 10 }, (_, i) => agent(`b${i}`, { containerName: 'c' })), want: R.InsufficientAgentSlots },
    { name: 'a free slot', filter: agentSlotFree, container: ctr('c', 'n', { agents: 2 }), bound: [agent('b', { containerName: 'c' })], want: null },
    { name: 'terminating agents free their slot', filter: agentSlotFree, container: ctr('c', 'n', { agents: 1 }), bound: [agent('b', { containerName: 'c', terminating: true })], want: null },
    { name: "the agent's own old binding does not count", filter: agentSlotFree, container: ctr('c', 'n', { agents: 1 }), bound: [agent('x', { containerName: 'c' })], want: null },
    { name: 'cpu fits exactly', filter: cpuFits, container: ctr('c', 'n', { cpu: '1' }), agent: agent('x', { cpu: '500m' }), bound: [agent('b', { containerName: 'c', cpu: '0.5' })], want: null },
    { name: 'cpu does not fit', filter: cpuFits, container: ctr('c', 'n', { cpu: '1' }), agent: agent('x', { cpu: '600m' }), bound: [agent('b', { containerName: 'c', cpu: '500m' })], want: R.InsufficientCpu },
    { name: 'no cpu capacity = unlimited', filter: cpuFits, agent: agent('x', { cpu: '64' }), want: null },
    { name: 'no cpu request needs none', filter: cpuFits, container: ctr('c', 'n', { cpu: '1' }), bound: [agent('b', { containerName: 'c', cpu: '1' })], want: null },
    { name: 'memory does not fit', filter: memoryFits, container: ctr('c', 'n', { memory: '1Gi' }), agent: agent('x', { memory: '768Mi' }), bound: [agent('b', { containerName: 'c', memory: '512Mi' })], want: R.InsufficientMemory },
    { name: 'memory fits', filter: memoryFits, container: ctr('c', 'n', { memory: '1Gi' }), agent: agent('x', { memory: '512Mi' }), bound: [agent('b', { containerName: 'c', memory: '512Mi' })], want: null },
    { name: 'max per container reached', filter: underMaxPerContainer, agent: agent('x', { maxPerContainer: 2 }), bound: [agent('b1', { containerName: 'c' }), agent('b2', { containerName: 'c' })], want: R.MaxPerContainer },
    { name: 'max per container counts only the same deployment', filter: underMaxPerContainer, agent: agent('x', { maxPerContainer: 2 }), bound: [agent('b1', { containerName: 'c' }), agent('b2', { containerName: 'c', deployment: 'risk' })], want: null },
  ])('$name', (c) => {
    expect(run(c)).toBe(c.want);
  });

  it('lists filters in the order reasons are reported', () => {
    const order = [containerRunning, nodeReady, nodeNotCordoned, nodeNotFlapping, isAgentHost, notExcluded, hasCapabilities, selectorMatches, agentSlotFree, cpuFits, memoryFits, underMaxPerContainer];
    expect(defaultAgentFilters).toEqual(order);
  });
});

describe('flap damping', () => {
  it.each<{ name: string; transitions: string[] | string; flapping: boolean }>([
    { name: '4 changes in 5 minutes, last 1 minute ago', transitions: [iso(4 * MIN), iso(3 * MIN), iso(2 * MIN), iso(1 * MIN)], flapping: true },
    { name: 'exactly 3 changes is allowed', transitions: [iso(3 * MIN), iso(2 * MIN), iso(1 * MIN)], flapping: false },
    { name: 'stable for 2 minutes again', transitions: [iso(5 * MIN), iso(4 * MIN), iso(3 * MIN), iso(2 * MIN)], flapping: false },
    { name: 'old changes outside the window do not count', transitions: [iso(30 * MIN), iso(20 * MIN), iso(10 * MIN), iso(1 * MIN)], flapping: false },
    { name: 'unordered list', transitions: [iso(1 * MIN), iso(4 * MIN), iso(2 * MIN), iso(3 * MIN)], flapping: true },
    { name: 'garbled annotation', transitions: 'not json', flapping: false },
  ])('$name', ({ transitions, flapping }) => {
    const n = node('n');
    n.metadata.annotations = { 'drover.dev/ready-transitions': typeof transitions === 'string' ? transitions : JSON.stringify(transitions) };
    expect(isNodeFlapping(n, NOW)).toBe(flapping);
  });

  it('a caller-supplied flappingNodes set wins over the annotation', () => {
    const state = new SchedulerState({ ...view([node('n')], [ctr('c', 'n')]), flappingNodes: new Set(['n']) });
    expect(state.containers[0].flapping).toBe(true);
  });
});

describe('unschedulable message', () => {
  it.each<{ total: number; reasons: Record<string, number>; want: string }>([
    { total: 6, reasons: { [lackCapability('gpu_compute')]: 3, [R.InsufficientMemory]: 3 }, want: '0/6 containers: 3 lack capability gpu_compute, 3 insufficient memory' },
    { total: 1, reasons: { [R.NodeNotReady]: 1 }, want: '0/1 containers: 1 node not ready' },
    { total: 0, reasons: {}, want: '0/0 containers: no agent-host containers in this cluster' },
  ])('$want', ({ total, reasons, want }) => {
    expect(unschedulableMessage(total, reasons)).toBe(want);
  });
});

import { describe, it, expect } from '@jest/globals';
import {
  scheduleAgents, feasibleContainers, containerLoad, Strategies, type SchedulerView,
} from '../../reconcilers/agent-scheduler.ts';
import { roundRobin, leastLoaded, capabilityMatch, resourceOptimal, spread, type AgentScorer } from '../../reconcilers/agent-strategies.ts';
import { SchedulerState } from '../../reconcilers/agent-scheduler-state.ts';
import type { KubeObject } from '../../core/types.ts';
import { node, ctr, agent, agents, view, countBy, NS, type AgentOpts } from './agent-scheduler-fixtures.ts';

const nodes3 = () => [node('node-a'), node('node-b'), node('node-c')];
/** Six agent hosts, two per node, 10 slots each. */
const six = () => [
  ctr('c1', 'node-a'), ctr('c2', 'node-a'), ctr('c3', 'node-b'), ctr('c4', 'node-b'), ctr('c5', 'node-c'), ctr('c6', 'node-c'),
];

describe('strategy scorers', () => {
  // Each row: two containers, the scorer must rank `better` above `worse` for the agent.
  it.each<{ name: string; scorer: AgentScorer; containers: KubeObject[]; bound?: KubeObject[]; agent?: AgentOpts; cursor?: number; better: string; worse: string }>([
    { name: 'RoundRobin: the next container after the cursor', scorer: roundRobin, containers: [ctr('c1', 'n'), ctr('c2', 'n'), ctr('c3', 'n')], cursor: 0, better: 'c2', worse: 'c3' },
    { name: 'RoundRobin: wraps around', scorer: roundRobin, containers: [ctr('c1', 'n'), ctr('c2', 'n'), ctr('c3', 'n')], cursor: 2, better: 'c1', worse: 'c3' },
    { name: 'LeastLoaded: fewer agents', scorer: leastLoaded, containers: [ctr('c1', 'n'), ctr('c2', 'n')], bound: [agent('b', { containerName: 'c1' })], better: 'c2', worse: 'c1' },
    { name: 'LeastLoaded: relative to capacity', scorer: leastLoaded, containers: [ctr('c1', 'n', { agents: 2 }), ctr('c2', 'n', { agents: 20 })], bound: [agent('b', { containerName: 'c2' })], better: 'c2', worse: 'c1' },
    { name: 'LeastLoaded: cpu counts', scorer: leastLoaded, containers: [ctr('c1', 'n', { cpu: '2' }), ctr('c2', 'n', { cpu: '2' })], bound: [agent('b', { containerName: 'c1', cpu: '1500m' }), agent('b2', { containerName: 'c2' })], agent: { cpu: '100m' }, better: 'c2', worse: 'c1' },
    { name: 'ResourceOptimal: the fuller container', scorer: resourceOptimal, containers: [ctr('c1', 'n', { agents: 4 }), ctr('c2', 'n', { agents: 4 })], bound: [agent('b', { containerName: 'c1' })], better: 'c1', worse: 'c2' },
    { name: 'ResourceOptimal: the smaller container when both are empty', scorer: resourceOptimal, containers: [ctr('c1', 'n', { agents: 2 }), ctr('c2', 'n', { agents: 8 })], better: 'c1', worse: 'c2' },
    { name: 'CapabilityMatch: a preferred capability', scorer: capabilityMatch, containers: [ctr('c1', 'n', { caps: ['gpu_compute'] }), ctr('c2', 'n')], agent: { preferred: ['gpu_compute'] }, better: 'c1', worse: 'c2' },
    { name: 'CapabilityMatch: fewer unneeded capabilities', scorer: capabilityMatch, containers: [ctr('c1', 'n', { caps: ['gpu_compute', 'fpga'] }), ctr('c2', 'n', { caps: ['gpu_compute'] })], agent: { required: ['gpu_compute'] }, better: 'c2', worse: 'c1' },
    { name: 'CapabilityMatch: preferred beats unneeded', scorer: capabilityMatch, containers: [ctr('c1', 'n', { caps: ['avx', 'fpga', 'tpu', 'gpu_compute'] }), ctr('c2', 'n')], agent: { preferred: ['gpu_compute'] }, better: 'c1', worse: 'c2' },
    { name: 'CapabilityMatch: least loaded among equals', scorer: capabilityMatch, containers: [ctr('c1', 'n'), ctr('c2', 'n')], bound: [agent('b', { containerName: 'c1' })], better: 'c2', worse: 'c1' },
    { name: 'Spread: fewer of the deployment on the node', scorer: spread, containers: [ctr('c1', 'n'), ctr('c2', 'm')], bound: [agent('b', { containerName: 'c1' })], better: 'c2', worse: 'c1' },
    { name: 'Spread: other deployments do not count', scorer: spread, containers: [ctr('c1', 'n'), ctr('c2', 'm')], bound: [agent('b', { containerName: 'c1' }), agent('r1', { containerName: 'c2', deployment: 'risk' }), agent('r2', { containerName: 'c2', deployment: 'risk' })], better: 'c2', worse: 'c1' },
    { name: 'Spread: within a node, the emptier container', scorer: spread, containers: [ctr('c1', 'n'), ctr('c2', 'n')], bound: [agent('b', { containerName: 'c1' })], better: 'c2', worse: 'c1' },
    { name: 'Spread by zone label', scorer: spread, containers: [ctr('c1', 'n'), ctr('c2', 'm')], bound: [agent('b', { containerName: 'c1' })], agent: { spreadBy: 'zone' }, better: 'c2', worse: 'c1' },
  ])('$name', ({ scorer, containers, bound, agent: ao, cursor, better, worse }) => {
    const v: SchedulerView = view([node('n', { labels: { zone: 'eu' } }), node('m', { labels: { zone: 'us' } })], containers, bound ?? []);
    const state = new SchedulerState(v);
    const a = state.request(agent('x', ao ?? {}));
    const score = (name: string) => scorer({ state, container: state.byName.get(name)!, agent: a, cursor: cursor ?? -1 });
    expect(score(better)).toBeGreaterThan(score(worse));
    for (const name of [better, worse]) {
      expect(score(name)).toBeGreaterThanOrEqual(0);
      expect(score(name)).toBeLessThanOrEqual(1);
    }
  });
});

describe('scheduler harness (snapshot in, plan out)', () => {
  it('CapabilityMatch picks the smallest sufficient container', () => {
    const containers = [
      ctr('big', 'node-a', { caps: ['gpu_compute', 'fpga', 'avx512'] }),
      ctr('gpu', 'node-b', { caps: ['gpu_compute'] }),
      ctr('gpu-avx', 'node-c', { caps: ['gpu_compute', 'avx512'] }),
      ctr('plain', 'node-c'),
    ];
    const v = view(nodes3(), containers);
    expect(scheduleAgents([agent('x', { strategy: 'CapabilityMatch', required: ['gpu_compute'] })], v).bindings[0].container).toBe('gpu');
    expect(scheduleAgents([agent('x', { strategy: 'CapabilityMatch', required: ['gpu_compute'], preferred: ['avx512'] })], v).bindings[0].container).toBe('gpu-avx');
    expect(scheduleAgents([agent('x', { strategy: 'CapabilityMatch' })], v).bindings[0].container).toBe('plain');
  });

  it('Spread evens out across nodes, however many containers each node has', () => {
    const containers = [ctr('a1', 'node-a'), ctr('a2', 'node-a'), ctr('a3', 'node-a'), ctr('a4', 'node-a'), ctr('b1', 'node-b'), ctr('c1', 'node-c')];
    const plan = scheduleAgents(agents(9, { strategy: 'Spread' }), view(nodes3(), containers));
    const perNode: Record<string, number> = {};
    for (const b of plan.bindings) perNode[b.node] = (perNode[b.node] ?? 0) + 1;
    expect(perNode).toEqual({ 'node-a': 3, 'node-b': 3, 'node-c': 3 });
    // on node-a the three agents land in three different containers
    expect(new Set(plan.bindings.filter((b) => b.node === 'node-a').map((b) => b.container)).size).toBe(3);
  });

  it('Spread by a zone label evens out across zones', () => {
    const ns = [node('n1', { labels: { zone: 'eu' } }), node('n2', { labels: { zone: 'eu' } }), node('n3', { labels: { zone: 'us' } })];
    const plan = scheduleAgents(agents(6, { strategy: 'Spread', spreadBy: 'zone' }), view(ns, [ctr('c1', 'n1'), ctr('c2', 'n2'), ctr('c3', 'n3')]));
    const c = countBy(plan.bindings);
    expect(c.c3).toBe(3);
    expect((c.c1 ?? 0) + (c.c2 ?? 0)).toBe(3);
  });

  it('ResourceOptimal packs: fills one container before opening the next', () => {
    const plan = scheduleAgents(agents(6, { strategy: 'ResourceOptimal' }), view(nodes3(), [ctr('c1', 'node-a', { agents: 4 }), ctr('c2', 'node-b', { agents: 4 }), ctr('c3', 'node-c', { agents: 4 })]));
    expect(Object.values(countBy(plan.bindings)).sort()).toEqual([2, 4]);
  });

  it('ResourceOptimal packs by cpu: the container with the least cpu left over', () => {
    const containers = [ctr('roomy', 'node-a', { cpu: '4' }), ctr('tight', 'node-b', { cpu: '1' })];
    const plan = scheduleAgents([agent('x', { strategy: 'ResourceOptimal', cpu: '1' })], view(nodes3(), containers));
    expect(plan.bindings[0].container).toBe('tight');
  });

  it('LeastLoaded balances around what is already bound', () => {
    const bound = [agent('old-1', { containerName: 'c1' }), agent('old-2', { containerName: 'c1' }), agent('old-3', { containerName: 'c1' })];
    const plan = scheduleAgents(agents(6, { strategy: 'LeastLoaded' }), view(nodes3(), [ctr('c1', 'node-a'), ctr('c2', 'node-b'), ctr('c3', 'node-c')], bound));
    expect(countBy(plan.bindings)).toEqual({ c2: 3, c3: 3 });
  });

  it('RoundRobin cycles in name order and carries its cursor to the next plan', () => {
    const v = view(nodes3(), [ctr('c3', 'node-c'), ctr('c1', 'node-a'), ctr('c2', 'node-b')]);
    const first = scheduleAgents(agents(4, { strategy: 'RoundRobin' }), v);
    expect(first.bindings.map((b) => b.container)).toEqual(['c1', 'c2', 'c3', 'c1']);
    expect(first.cursors).toEqual({ [`${NS}/trading`]: 0 });
    const next = scheduleAgents(agents(2, { strategy: 'RoundRobin' }, 'b'), v, { cursors: first.cursors });
    expect(next.bindings.map((b) => b.container)).toEqual(['c2', 'c3']);
  });

  it('RoundRobin skips containers that are not feasible', () => {
    const v = view(nodes3(), [ctr('c1', 'node-a'), ctr('c2', 'node-b', { phase: 'Failed' }), ctr('c3', 'node-c')]);
    expect(scheduleAgents(agents(3, { strategy: 'RoundRobin' }), v).bindings.map((b) => b.container)).toEqual(['c1', 'c3', 'c1']);
  });

  it.each(Strategies)('%s: 30 agents on six containers respect capacity and bind every agent', (strategy) => {
    const plan = scheduleAgents(agents(30, { strategy, deployment: 'd' }), view(nodes3(), six().map((c) => ctr(c.metadata.name, c.status!.nodeName as string, { agents: 5 }))));
    expect(plan.unschedulable).toEqual([]);
    expect(Object.values(countBy(plan.bindings))).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it('an unplaceable agent gets the exact message, reasons in filter order', () => {
    const containers = [
      ctr('a', 'node-a', { memory: '1Gi' }), ctr('b', 'node-a', { memory: '1Gi' }), ctr('c', 'node-b', { memory: '1Gi' }),
      ctr('d', 'node-b', { caps: ['gpu_compute'], memory: '256Mi' }), ctr('e', 'node-c', { caps: ['gpu_compute'], memory: '256Mi' }), ctr('f', 'node-c', { caps: ['gpu_compute'], memory: '256Mi' }),
    ];
    const plan = scheduleAgents([agent('x', { required: ['gpu_compute'], memory: '512Mi' })], view(nodes3(), containers));
    expect(plan.bindings).toEqual([]);
    expect(plan.unschedulable).toEqual([{
      agent: 'x',
      reasons: { 'lack capability gpu_compute': 3, 'insufficient memory': 3 },
      message: '0/6 containers: 3 lack capability gpu_compute, 3 insufficient memory',
    }]);
  });

  it('counts every kind of rejection once per container', () => {
    const ns = [node('node-a'), node('node-b', { ready: false }), node('node-c', { unschedulable: true })];
    const containers = [
      ctr('c1', 'node-a', { phase: 'Failed' }), ctr('c2', 'node-b'), ctr('c3', 'node-c'), ctr('c4', 'node-a', { host: false }),
      ctr('c5', 'node-a', { labels: { tier: 'web' } }), ctr('c6', 'node-a', { agents: 0, labels: { tier: 'agents' } }),
    ];
    const plan = scheduleAgents([agent('x', { selector: { matchLabels: { tier: 'agents' } } })], view(ns, containers));
    expect(plan.unschedulable[0].message).toBe(
      '0/6 containers: 1 container not running, 1 node not ready, 1 node cordoned, 1 not an agent host, 1 selector mismatch, 1 insufficient agent slots',
    );
  });

  it('no agent hosts at all', () => {
    expect(scheduleAgents([agent('x')], view([], [])).unschedulable[0].message).toBe('0/0 containers: no agent-host containers in this cluster');
  });

  it('the same input gives the same plan; the seed only breaks ties', () => {
    const v = () => view(nodes3(), six());
    const pending = () => [...agents(12, { strategy: 'LeastLoaded' }), ...agents(5, { strategy: 'Spread', deployment: 'risk' }, 'r')];
    expect(scheduleAgents(pending(), v(), { seed: 's1' })).toEqual(scheduleAgents(pending(), v(), { seed: 's1' }));
    // a lone agent on six identical empty containers: where it goes depends on the seed alone
    const picks = new Set(['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'].map((seed) => scheduleAgents([agent('x')], v(), { seed }).bindings[0].container));
    expect(picks.size).toBeGreaterThan(1);
  });

  it('batch placement counts each binding against capacity before the next', () => {
    const plan = scheduleAgents(agents(5, { cpu: '1' }), view(nodes3(), [ctr('c1', 'node-a', { cpu: '2' }), ctr('c2', 'node-b', { agents: 1 })]));
    expect(countBy(plan.bindings)).toEqual({ c1: 2, c2: 1 });
    expect(plan.unschedulable.map((u) => u.message)).toEqual([
      '0/2 containers: 1 insufficient agent slots, 1 insufficient cpu',
      '0/2 containers: 1 insufficient agent slots, 1 insufficient cpu',
    ]);
  });

  it('maxPerContainer counts the batch too', () => {
    const plan = scheduleAgents(agents(5, { maxPerContainer: 2, strategy: 'ResourceOptimal' }), view(nodes3(), [ctr('c1', 'node-a'), ctr('c2', 'node-b')]));
    expect(countBy(plan.bindings)).toEqual({ c1: 2, c2: 2 });
    expect(plan.unschedulable[0].message).toBe('0/2 containers: 2 max per container reached');
  });

  it('exclude keeps a migrating agent off the container it leaves; its old binding is not counted', () => {
    const leaving = agent('x', { containerName: 'c1', strategy: 'ResourceOptimal' });
    const v = view(nodes3(), [ctr('c1', 'node-a', { agents: 1 }), ctr('c2', 'node-b')], [leaving, agent('y', { containerName: 'c2' })]);
    expect(scheduleAgents([leaving], v).bindings[0].container).toBe('c1');
    expect(scheduleAgents([leaving], v, { exclude: { x: ['c1'] } }).bindings[0]).toEqual(expect.objectContaining({ container: 'c2', node: 'node-b' }));
  });

  it('feasibleContainers lists what fits and why the rest does not', () => {
    const v = view(nodes3(), [ctr('c1', 'node-a', { caps: ['gpu_compute'] }), ctr('c2', 'node-b'), ctr('c3', 'node-c', { phase: 'Stopped', caps: ['gpu_compute'] })]);
    const r = feasibleContainers(agent('x', { required: ['gpu_compute'] }), v);
    expect(r.feasible.map((c) => c.metadata.name)).toEqual(['c1']);
    expect(r.reasons).toEqual({ 'container not running': 1, 'lack capability gpu_compute': 1 });
  });

  it('containerLoad reports allocation and the dominant share', () => {
    const c = ctr('c1', 'node-a', { agents: 8, cpu: '2', memory: '1Gi' });
    const v = view(nodes3(), [c], [
      agent('b1', { containerName: 'c1', cpu: '500m', memory: '128Mi' }), agent('b2', { containerName: 'c1', cpu: '1', memory: '128Mi' }),
      agent('b3', { containerName: 'c1', terminating: true, cpu: '1' }), agent('b4', { containerName: 'c2' }),
    ]);
    expect(containerLoad(c, v)).toEqual({ agents: 2, capacityAgents: 8, cpu: 1500, memory: 256 * 2 ** 20, ratio: 0.75 });
  });
});

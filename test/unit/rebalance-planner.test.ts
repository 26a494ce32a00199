import { describe, it, expect } from '@jest/globals';
import type { KubeObject } from '../../core/types.ts';
import { planRebalance, SkipReasons, type RebalanceView } from '../../reconcilers/rebalance-planner.ts';
import { isFlapping, resolveMaxUnavailable } from '../../reconcilers/rebalance-policy.ts';
import { NOW, agent, agentsOn, cluster, deployment, host, node } from './rebalance-fixtures.ts';

/** Two full containers (4/4) on node-a and node-b and an empty one on node-c: the "new node" picture. */
function newNodeView(o: { policy?: Record<string, unknown>; dep?: Record<string, unknown>; agentOpts?: Parameters<typeof agent>[2]; c3?: Parameters<typeof host>[2]; nodeC?: Parameters<typeof node>[1]; extra?: KubeObject[] } = {}): RebalanceView {
  return {
    cluster: cluster(o.policy),
    nodes: [node('node-a'), node('node-b'), node('node-c', o.nodeC)],
    containers: [host('c1', 'node-a'), host('c2', 'node-b'), host('c3', 'node-c', o.c3)],
    deployments: [deployment('trading', o.dep)],
    agents: [...agentsOn('c1', 4, 'c1', o.agentOpts), ...agentsOn('c2', 4, 'c2', o.agentOpts), ...(o.extra ?? [])],
  };
}

const loads = (rows: { container: string; agents: number }[]) => Object.fromEntries(rows.map((r) => [r.container, r.agents]));

describe('planRebalance', () => {
  it('fills a new empty container until the imbalance is under the threshold, with loads before and after', () => {
    const plan = planRebalance(newNodeView(), NOW);
    expect(plan.moves.map((m) => [m.agent, m.from.container, m.to.container, m.to.node])).toEqual([
      ['c1-a0', 'c1', 'c3', 'node-c'],
      ['c2-a0', 'c2', 'c3', 'node-c'],
    ]);
    expect(loads(plan.before)).toEqual({ c1: 4, c2: 4, c3: 0 });
    expect(loads(plan.after)).toEqual({ c1: 3, c2: 3, c3: 2 });
    expect(plan.imbalanceBefore).toBeCloseTo(0.333, 3);
    expect(plan.imbalanceAfter).toBeCloseTo(0.083, 3);
    expect(plan.imbalanceAfter).toBeLessThanOrEqual(plan.threshold);
    expect(plan.moves[0]).toMatchObject({ deployment: 'trading', from: { node: 'node-a' }, reason: 'load 1 → 0.75' });
  });

  it.each([
    ['balanced below the threshold', { c1: 2, c2: 2, c3: 1 }, {}, 0],
    ['threshold 0.4 tolerates 4/4/0', { c1: 4, c2: 4, c3: 0 }, { threshold: 0.4 }, 0],
    ['threshold 0 evens out fully', { c1: 4, c2: 4, c3: 0 }, { threshold: 0 }, 2],
    ['maxMigrationsPerRound bounds the round', { c1: 4, c2: 4, c3: 0 }, { maxMigrationsPerRound: 1 }, 1],
    ['maxMigrationsPerRound 0 disables moves', { c1: 4, c2: 4, c3: 0 }, { maxMigrationsPerRound: 0 }, 0],
  ])('%s', (_name, counts, policy, expected) => {
    const view: RebalanceView = {
      cluster: cluster(policy),
      nodes: [node('node-a'), node('node-b'), node('node-c')],
      containers: [host('c1', 'node-a'), host('c2', 'node-b'), host('c3', 'node-c')],
      deployments: [deployment('trading')],
      agents: Object.entries(counts).flatMap(([c, n]) => agentsOn(c, n)),
    };
    const plan = planRebalance(view, NOW);
    expect(plan.moves).toHaveLength(expected);
    if (expected === 0) expect(loads(plan.after)).toEqual(loads(plan.before));
  });

  it('opts.maxMoves caps the plan below the Cluster limit', () => {
    expect(planRebalance(newNodeView(), NOW, { maxMoves: 1 }).moves).toHaveLength(1);
  });

  it.each([
    ['cooldown: moved 1 minute ago', { agentOpts: { annotations: { 'drover.dev/last-moved': new Date(NOW - 60_000).toISOString() } } }, SkipReasons.cooldown],
    ['minAge: started 30 s ago', { agentOpts: { startedAgoMs: 30_000 } }, SkipReasons.tooYoung],
    ['not Running', { agentOpts: { phase: 'Starting' } }, SkipReasons.notRunning],
    ['deployment opted out', { dep: { rebalance: { enabled: false } } }, SkipReasons.disabled],
    ['budget: maxUnavailable 0', { dep: { disruption: { maxUnavailable: 0 } } }, SkipReasons.budget],
    ['budget: one replica already down', { dep: { disruption: { maxUnavailable: 1 } }, extra: [agent('pending-1', '', { phase: 'Pending' })] }, SkipReasons.budget],
    ['target lacks a required capability', { agentOpts: { required: ['gpu_compute'] }, extra: [] }, SkipReasons.noTarget],
  ])('moves nothing when %s', (_name, o, reason) => {
    const view = newNodeView(o as Parameters<typeof newNodeView>[0]);
    if ((o as { agentOpts?: { required?: string[] } }).agentOpts?.required) {
      view.containers = [host('c1', 'node-a', { caps: ['gpu_compute'] }), host('c2', 'node-b', { caps: ['gpu_compute'] }), host('c3', 'node-c')];
    }
    const plan = planRebalance(view, NOW);
    expect(plan.moves).toEqual([]);
    expect(plan.skipped).toContainEqual({ agent: 'c1-a0', reason });
  });

  it.each([
    ['on a NotReady node', { nodeC: { ready: false } }],
    ['on a cordoned node', { nodeC: { cordoned: true } }],
    ['not Running', { c3: { phase: 'Starting' } }],
    ['on a flapping node', { nodeC: { transitions: [NOW - 200_000, NOW - 150_000, NOW - 100_000, NOW - 50_000] } }],
  ])('an empty container %s neither takes agents nor counts in the load', (_name, o) => {
    const plan = planRebalance(newNodeView(o as Parameters<typeof newNodeView>[0]), NOW);
    expect(plan.moves).toEqual([]);
    expect(plan.before.map((r) => r.container)).toEqual(['c1', 'c2']);
    expect(plan.imbalanceBefore).toBe(0);
  });

  it('says when agents skipped as too young become movable, and not when nothing waits on age', () => {
    // default minAge 1m; the agents started 30 s ago: retry 30 s from now
    expect(planRebalance(newNodeView({ agentOpts: { startedAgoMs: 30_000 } }), NOW).retryAt).toBe(NOW + 30_000);
    expect(planRebalance(newNodeView(), NOW).retryAt).toBeUndefined();
  });

  it('moves again once the cooldown has passed', () => {
    const plan = planRebalance(newNodeView({ agentOpts: { annotations: { 'drover.dev/last-moved': new Date(NOW - 6 * 60_000).toISOString() } } }), NOW);
    expect(plan.moves).toHaveLength(2);
  });

  it('a budget of 1 allows one move per deployment, and other deployments still move', () => {
    const view = newNodeView({ dep: { disruption: { maxUnavailable: 1 } } });
    expect(planRebalance(view, NOW).moves).toHaveLength(1);
    // c2 hosts another deployment with its own budget
    view.deployments.push(deployment('risk', { disruption: { maxUnavailable: 1 } }));
    view.agents = [...agentsOn('c1', 4), ...agentsOn('c2', 4, 'c2', { dep: 'risk' })];
    const plan = planRebalance(view, NOW);
    expect(plan.moves.map((m) => m.deployment).sort()).toEqual(['risk', 'trading']);
  });

  it('counts a move in flight against the budget and never moves either side of it', () => {
    const old = agent('c1-a0', 'c1');
    const replacement = agent('trading-new', 'c3', { phase: 'Scheduled', annotations: { 'drover.dev/replaces': 'c1-a0' } });
    const view = newNodeView({ dep: { disruption: { maxUnavailable: 1 } } });
    view.agents = [old, ...agentsOn('c1', 4).slice(1), ...agentsOn('c2', 4), replacement];
    const plan = planRebalance(view, NOW);
    expect(plan.moves).toEqual([]);
    expect(plan.skipped).toContainEqual({ agent: 'c1-a0', reason: SkipReasons.inFlight });
    expect(plan.skipped).toContainEqual({ agent: 'c1-a1', reason: SkipReasons.budget });
  });

  it('never plans a move that does not lower the peak load (no ping-pong between equal containers)', () => {
    const view = newNodeView({ policy: { threshold: 0 } });
    view.containers = [host('c1', 'node-a'), host('c2', 'node-b'), host('c3', 'node-c')];
    view.agents = [...agentsOn('c1', 3), ...agentsOn('c2', 2), ...agentsOn('c3', 2)];
    const plan = planRebalance(view, NOW);
    expect(plan.moves).toEqual([]); // 3/2/2 of 4: any move makes another container 3/4
  });

  it('is deterministic: the same state in any order gives the same plan', () => {
    const view = newNodeView();
    const shuffled: RebalanceView = { ...view, agents: [...view.agents].reverse(), containers: [...view.containers].reverse(), nodes: [...view.nodes].reverse() };
    expect(planRebalance(shuffled, NOW)).toEqual(planRebalance(view, NOW));
  });
});

describe('rebalance policy helpers', () => {
  it.each([
    [1, 10, 1], ['2', 10, 2], ['25%', 10, 3], ['0%', 10, 0], [undefined, 10, 1], ['bad', 10, 1],
  ])('maxUnavailable %p of %p replicas = %p', (v, replicas, expected) => {
    expect(resolveMaxUnavailable(v, replicas)).toBe(expected);
  });

  it.each([
    ['no history', undefined, false],
    ['4 changes in 5 min, last 50 s ago', [200, 150, 100, 50], true],
    ['3 changes in 5 min', [150, 100, 50], false],
    ['4 changes, but stable for 2 min', [400, 300, 200, 130], false],
  ])('flapping: %s', (_name, agoSeconds, expected) => {
    const n = node('n', agoSeconds ? { transitions: agoSeconds.map((s) => NOW - s * 1000) } : {});
    expect(isFlapping(n, NOW)).toBe(expected);
  });
});

import { describe, it, expect } from '@jest/globals';
import type { KubeObject } from '../../core/types.ts';
import { reconcileAgentDeployment, templateHash, resolveIntOrPercent } from '../../reconcilers/agent-deployment-reconciler.ts';

const V = 'drover.dev/v1alpha1';
const NOW = Date.UTC(2026, 0, 1);
const template = { command: ['node', 'a.js'], config: { strategy: 'momentum' } };
const HASH = templateHash(template);

function deployment(spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: V, kind: 'AgentDeployment', metadata: { name: 'trading', namespace: 'c1', uid: 'd-uid', generation: 3 }, spec: { agentType: 'trading', replicas: 3, template, ...spec } };
}
function agent(name: string, o: { container?: string; phase?: string; hash?: string; replaces?: string; age?: number; reason?: string; message?: string } = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Agent',
    metadata: {
      name, namespace: 'c1', uid: `${name}-uid`, creationTimestamp: new Date(NOW - (o.age ?? 0) * 1000).toISOString(),
      labels: { 'drover.dev/deployment': 'trading' },
      annotations: { 'drover.dev/template-hash': o.hash ?? HASH, ...(o.replaces ? { 'drover.dev/replaces': o.replaces } : {}) },
      ownerReferences: [{ apiVersion: V, kind: 'AgentDeployment', name: 'trading', uid: 'd-uid', controller: true }],
    },
    spec: { agentType: 'trading', ...(o.container ? { containerName: o.container } : {}) },
    status: { phase: o.phase ?? (o.container ? 'Running' : 'Pending'), ...(o.reason ? { reason: o.reason, message: o.message } : {}) },
  };
}
const host = (name: string, agents: number): KubeObject => ({ apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1' }, spec: { agentHost: { capacity: { agents } } } });
const run = (d: KubeObject, agents: KubeObject[], containers: KubeObject[] = [host('c1', 4), host('c2', 4)], others: KubeObject[] = []) =>
  reconcileAgentDeployment(d, { agents, allAgents: [...agents, ...others], containers, now: NOW });
const deleted = (r: ReturnType<typeof run>) => (r.delete ?? []).map((x) => x.name).sort();

describe('AgentDeployment reconcile: scaling', () => {
  it('creates the missing replicas from the template, owned and labelled', () => {
    const r = run(deployment(), [agent('trading-aaaaa', { container: 'c1' })]);
    expect(r.create).toHaveLength(2);
    const a = r.create![0];
    expect(a.metadata).toMatchObject({
      generateName: 'trading-', namespace: 'c1',
      labels: { 'drover.dev/deployment': 'trading', 'drover.dev/agent-type': 'trading' },
      annotations: { 'drover.dev/template-hash': HASH },
      ownerReferences: [{ kind: 'AgentDeployment', name: 'trading', uid: 'd-uid', controller: true }],
    });
    expect(a.spec).toEqual({ agentType: 'trading', command: ['node', 'a.js'], config: { strategy: 'momentum' } });
    expect(r.events).toEqual([{ type: 'Normal', reason: 'ScalingUp', message: 'created 2 agents (3 desired)' }]);
  });

  it.each([
    ['unbound agents go first', [agent('a-run', { container: 'c1' }), agent('a-pend'), agent('b-run', { container: 'c2' })], 2, ['a-pend']],
    ['not-running before running', [agent('a-run', { container: 'c1' }), agent('a-start', { container: 'c2', phase: 'Starting' }), agent('b-run', { container: 'c2' })], 2, ['a-start']],
    ['then the most loaded container', [agent('x1', { container: 'c1' }), agent('x2', { container: 'c2' }), agent('x3', { container: 'c2' })], 2, ['x2']],
  ])('scale down: %s', (_what, agents, replicas, want) => {
    const r = run(deployment({ replicas }), agents);
    expect(deleted(r)).toEqual(want);
    expect(r.create).toBeUndefined();
    expect(r.events?.[0]).toMatchObject({ reason: 'ScalingDown' });
  });

  it('scale down spreads removals: load is recounted after each pick', () => {
    const agents = [agent('p1', { container: 'c1' }), agent('p2', { container: 'c1' }), agent('q1', { container: 'c2' }), agent('q2', { container: 'c2' })];
    // c2 also hosts another deployment's agent, so it is the most loaded; after one removal both are equal.
    const r = run(deployment({ replicas: 2 }), agents, undefined, [{ ...agent('other', { container: 'c2' }), metadata: { ...agent('other').metadata, ownerReferences: [] } }]);
    const from = (r.delete ?? []).map((x) => (agents.find((a) => a.metadata.name === x.name)!.spec as { containerName: string }).containerName).sort();
    expect(from).toEqual(['c1', 'c2']);
  });

  it('a replacement pair counts as one replica: no scale down of the new one, no extra create', () => {
    const r = run(deployment({ replicas: 2 }), [agent('old', { container: 'c1' }), agent('new', { container: 'c2', phase: 'Starting', replaces: 'old' }), agent('other', { container: 'c2' })]);
    expect(r.create).toBeUndefined();
    expect(r.delete).toBeUndefined();
    expect(r.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
  });

  it('terminating agents are not counted', () => {
    const dying = { ...agent('gone', { container: 'c1' }), metadata: { ...agent('gone').metadata, deletionTimestamp: new Date(NOW).toISOString() } };
    expect(run(deployment({ replicas: 1 }), [dying]).create).toHaveLength(1);
  });
});

describe('AgentDeployment reconcile: rollouts', () => {
  const olds = () => [agent('o1', { container: 'c1', hash: 'old' }), agent('o2', { container: 'c1', hash: 'old' }), agent('o3', { container: 'c2', hash: 'old' })];

  it('RollingUpdate (maxSurge 1, maxUnavailable 0) creates one new agent and deletes nothing yet', () => {
    const r = run(deployment(), olds());
    expect(r.create).toHaveLength(1);
    expect(r.delete).toBeUndefined();
  });

  it('once the new agent runs, one old agent goes (availability kept at 3)', () => {
    const r = run(deployment(), [...olds(), agent('n1', { container: 'c2' })]);
    expect(r.create).toBeUndefined();
    expect(r.delete).toHaveLength(1);
    expect(r.events).toEqual([expect.objectContaining({ reason: 'RollingUpdate' })]);
  });

  it('a new agent that is not running yet blocks deleting old ones', () => {
    const r = run(deployment(), [...olds(), agent('n1')]);
    expect(r.delete).toBeUndefined();
  });

  it('Recreate deletes every old agent first and creates only once they are gone', () => {
    const d = deployment({ updateStrategy: { type: 'Recreate' } });
    const r = run(d, olds());
    expect(deleted(r)).toEqual(['o1', 'o2', 'o3']);
    expect(r.create).toBeUndefined();
    expect(run(d, []).create).toHaveLength(3);
  });

  it.each([
    [1, 10, 1, true, 1], ['25%', 10, 0, true, 3], ['25%', 10, 0, false, 2], [undefined, 10, 1, true, 1], ['x', 4, 0, false, 0],
  ])('resolveIntOrPercent(%p of %p)', (v, total, dflt, up, want) => {
    expect(resolveIntOrPercent(v as number | string | undefined, total, dflt, up)).toBe(want);
  });
});

describe('AgentDeployment reconcile: status', () => {
  it('reports counts, selector, observedGeneration and healthy conditions', () => {
    const r = run(deployment(), [agent('a', { container: 'c1' }), agent('b', { container: 'c1' }), agent('c', { container: 'c2' })]);
    expect(r.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, unavailableReplicas: 0, unplacedReplicas: 0, selector: 'drover.dev/deployment=trading', observedGeneration: 3 });
    const conds = Object.fromEntries((r.status!.conditions as { type: string; status: string; reason: string }[]).map((c) => [c.type, [c.status, c.reason]]));
    expect(conds).toEqual({ Available: ['True', 'MinimumAgentsAvailable'], Progressing: ['True', 'RolloutComplete'], Degraded: ['False', 'AsExpected'] });
  });

  it('unplaceable replicas make it Degraded with the scheduler message', () => {
    const msg = '0/2 containers: 2 lack capability gpu_compute';
    const r = run(deployment({ replicas: 2 }), [agent('a', { container: 'c1' }), agent('b', { reason: 'Unschedulable', message: msg })]);
    expect(r.status).toMatchObject({ unplacedReplicas: 1, placementMessage: msg, readyReplicas: 1 });
    const degraded = (r.status!.conditions as { type: string }[]).find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'Unschedulable', message: `1 agent cannot be placed: ${msg}` });
  });

  it('Available is False below replicas minus the disruption budget', () => {
    const r = run(deployment({ replicas: 3, disruption: { maxUnavailable: 1 } }), [agent('a', { container: 'c1' }), agent('b', { container: 'c1', phase: 'Starting' }), agent('c', { container: 'c2', phase: 'Starting' })]);
    expect((r.status!.conditions as { type: string; status: string }[]).find((c) => c.type === 'Available')?.status).toBe('False');
  });

  it('an unchanged status is not written again', () => {
    const agents = [agent('a', { container: 'c1' })];
    const first = run(deployment({ replicas: 1 }), agents);
    const d = { ...deployment({ replicas: 1 }), status: first.status };
    expect(run(d, agents)).toEqual({});
  });
});

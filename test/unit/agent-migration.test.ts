import { describe, it, expect } from '@jest/globals';
import type { KubeObject } from '../../core/types.ts';
import { planMigrations, flappingNodes, fencingDeadline, describeFrom } from '../../reconcilers/agent-migration.ts';
import { appendReadyTransition } from '../../reconcilers/ready-transitions.ts';
import { reconcileNodeLifecycle } from '../../reconcilers/node-lifecycle.ts';

const V = 'drover.dev/v1alpha1';
const NOW = Date.UTC(2026, 0, 1, 12);
const GRACE = 10_000;
const iso = (ms: number) => new Date(ms).toISOString();

const node = (name: string, ready: 'True' | 'False' | 'Unknown', heartbeatAgoMs: number, reason = 'AgentReady', annotations?: Record<string, string>): KubeObject => ({
  apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1', annotations },
  status: { lastHeartbeatTime: iso(NOW - heartbeatAgoMs), conditions: [{ type: 'Ready', status: ready, reason }] },
});
const container = (name: string, nodeName: string, phase = 'Running'): KubeObject =>
  ({ apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1' }, spec: {}, status: { nodeName, phase } });
const agent = (name: string, containerName: string, nodeName: string, phase = 'Running'): KubeObject =>
  ({ apiVersion: V, kind: 'Agent', metadata: { name, namespace: 'c1', labels: { 'drover.dev/deployment': 'trading' } }, spec: { agentType: 't', containerName }, status: { phase, nodeName, containerName } });

const input = (nodes: KubeObject[], containers: KubeObject[], extra: Record<string, unknown> = {}) =>
  ({ nodes, containers, now: NOW, gracePeriodMs: GRACE, managerStartedAt: NOW - 3_600_000, ...extra });

describe('failure migration decisions', () => {
  it.each([
    ['healthy node and container: stays', [node('a', 'True', 1000)], [container('c1', 'a')], 'Running', undefined],
    ['container deleted: moves', [node('a', 'True', 1000)], [], 'Running', 'container deleted'],
    ['container Failed, agent reported not running: moves', [node('a', 'True', 1000)], [container('c1', 'a', 'Failed')], 'Failed', 'container Failed'],
    ['container Failed but the node still reports the agent Running: waits', [node('a', 'True', 1000)], [container('c1', 'a', 'Failed')], 'Running', undefined],
    ['container Restarting: stays', [node('a', 'True', 1000)], [container('c1', 'a', 'Restarting')], 'Pending', undefined],
    ['node NotReady before the fencing deadline: waits', [node('a', 'Unknown', GRACE + 5000, 'NodeStatusUnknown')], [container('c1', 'a')], 'Running', undefined],
    ['node NotReady past grace + 10s + 2s: moves', [node('a', 'Unknown', GRACE + 12_000, 'NodeStatusUnknown')], [container('c1', 'a')], 'Running', 'node NotReady'],
    ['node agent stopped gracefully: moves at once', [node('a', 'False', 1000, 'AgentStopped')], [container('c1', 'a', 'Stopped')], 'Running', 'node agent stopped'],
    ['container drained to b, old node says the agent stopped: follows', [node('a', 'True', 1000), node('b', 'True', 1000)], [container('c1', 'b')], 'Failed', 'container moved to b'],
    ['container drained to b, agent still Running on a: waits for a to stop it', [node('a', 'True', 1000), node('b', 'True', 1000)], [container('c1', 'b')], 'Running', undefined],
  ])('%s', (_what, nodes, containers, phase, reason) => {
    const plan = planMigrations([agent('x', 'c1', 'a', phase)], input(nodes, containers));
    expect(plan.unbind.map((d) => d.from.reason)).toEqual(reason ? [reason] : []);
  });

  it('waits for the fencing deadline and says when to look again', () => {
    const plan = planMigrations([agent('x', 'c1', 'a')], input([node('a', 'Unknown', GRACE + 5000, 'NodeStatusUnknown')], [container('c1', 'a')]));
    expect(plan.requeueAfter).toBe(7000);
  });

  it('the manager start time is a floor: a freshly started manager never moves agents early', () => {
    const plan = planMigrations([agent('x', 'c1', 'a')], input([node('a', 'Unknown', 600_000, 'NodeStatusUnknown')], [container('c1', 'a')], { managerStartedAt: NOW - 5000 }));
    expect(plan.unbind).toEqual([]);
    expect(plan.requeueAfter).toBe(GRACE + 12_000 - 5000);
  });

  it('the agent\'s reported node decides, even when its container was re-placed elsewhere', () => {
    const nodes = [node('a', 'Unknown', GRACE + 3000, 'NodeStatusUnknown'), node('b', 'True', 100)];
    expect(planMigrations([agent('x', 'c1', 'a')], input(nodes, [container('c1', 'b')])).unbind).toEqual([]);
  });

  it('skips unbound, terminating and migration-disabled agents', () => {
    const nodes = [node('a', 'True', 100)];
    const terminating = { ...agent('t', 'gone', 'a'), metadata: { name: 't', namespace: 'c1', deletionTimestamp: iso(NOW) } };
    const unbound = { ...agent('u', 'gone', 'a'), spec: { agentType: 't' } };
    expect(planMigrations([terminating, unbound, agent('d', 'gone', 'a')], input(nodes, [], { migrationDisabled: new Set(['trading']) })).unbind).toEqual([]);
  });

  it('describes the move the way the Migrated event prints it', () => {
    const [d] = planMigrations([agent('x', 'c1', 'node-a')], input([node('node-a', 'Unknown', 60_000, 'NodeStatusUnknown')], [container('c1', 'node-a')])).unbind;
    expect(describeFrom(d.from)).toBe('container c1 on node-a (node NotReady)');
    expect(fencingDeadline(node('n', 'True', 0), GRACE, 0)).toBe(NOW + GRACE + 12_000);
  });
});

describe('flap damping', () => {
  const flips = (agoSeconds: number[]) => ({ 'drover.dev/ready-transitions': JSON.stringify(agoSeconds.map((s) => iso(NOW - s * 1000))) });
  it.each([
    ['4 flips in 5 min, last 30 s ago', [240, 180, 90, 30], true],
    ['3 flips in 5 min', [180, 90, 30], false],
    ['4 flips but stable for 2 min', [280, 250, 200, 130], false],
    ['old flips outside the window', [900, 800, 700, 600, 30], false],
  ])('%s → flapping %p', (_what, ago, want) => {
    expect(flappingNodes([node('n', 'True', 0, 'AgentReady', flips(ago))], NOW).has('n')).toBe(want);
  });

  it('the node lifecycle records each Ready transition (last 10 kept)', () => {
    const lost = node('n', 'True', 60_000);
    const res = reconcileNodeLifecycle(lost, { now: NOW, managerStartedAt: 0, policy: { heartbeatIntervalMs: 2000, gracePeriodMs: GRACE } });
    const ann = (res.patch?.[0]?.patch as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect(JSON.parse(ann['drover.dev/ready-transitions'])).toEqual([iso(NOW)]);
    let n = lost;
    for (let i = 0; i < 12; i++) n = { ...n, metadata: { ...n.metadata, annotations: { 'drover.dev/ready-transitions': appendReadyTransition(n, NOW + i) } } };
    const kept = JSON.parse(n.metadata.annotations!['drover.dev/ready-transitions']) as string[];
    expect(kept).toHaveLength(10);
    expect(kept[9]).toBe(iso(NOW + 11));
  });
});

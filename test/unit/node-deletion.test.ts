// A deleted Node waits on its finalizer until what ran there can safely run elsewhere; the container
// and agent reconcilers treat it as lost only at their fencing deadlines, even while it still says Ready.
import { describe, it, expect } from '@jest/globals';
import type { KubeObject } from '../../core/types.ts';
import { NODE_FENCING_FINALIZER, NODE_RELEASE_SLACK_MS, reconcileNodeDeletion } from '../../reconcilers/node-deletion.ts';
import { nodeLoss } from '../../reconcilers/container-reconciler.ts';
import { planMigrations } from '../../reconcilers/agent-migration.ts';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const policy = { heartbeatIntervalMs: 1000, gracePeriodMs: 10_000 };
const iso = (ms: number) => new Date(ms).toISOString();

function node(opts: { deleting?: boolean; finalizer?: boolean; heartbeatAgoMs?: number; ready?: string; reason?: string } = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Node',
    metadata: {
      name: 'n1', namespace: 'c1', uid: 'u1',
      ...(opts.finalizer === false ? {} : { finalizers: [NODE_FENCING_FINALIZER] }),
      ...(opts.deleting ? { deletionTimestamp: iso(NOW - 1000) } : {}),
    },
    status: {
      lastHeartbeatTime: iso(NOW - (opts.heartbeatAgoMs ?? 500)),
      conditions: [{ type: 'Ready', status: opts.ready ?? 'True', reason: opts.reason ?? 'AgentReady' }],
    },
  };
}
const container = (name: string, graceS = 5, pinned = false): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: 'c1' },
  spec: { image: 'x', terminationGracePeriodSeconds: graceS, ...(pinned ? { nodeName: 'n1' } : {}) }, status: { nodeName: 'n1', phase: 'Running' },
});
const agent = (name: string): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Agent', metadata: { name, namespace: 'c1' },
  spec: { containerName: 'host' }, status: { nodeName: 'n1', phase: 'Running' },
});
const input = (over: Partial<Parameters<typeof reconcileNodeDeletion>[1]> = {}) => ({ now: NOW, managerStartedAt: NOW - 3_600_000, policy, containers: [], agents: [], ...over });

describe('the node fencing finalizer', () => {
  it('is added to every Node that lacks it', () => {
    const r = reconcileNodeDeletion(node({ finalizer: false }), input());
    expect(r.patch?.[0].patch).toEqual({ metadata: { finalizers: [NODE_FENCING_FINALIZER] } });
    expect(reconcileNodeDeletion(node(), input())).toEqual({});
  });

  it('a deleted node with nothing bound goes at once', () => {
    const r = reconcileNodeDeletion(node({ deleting: true }), input());
    expect(r.released).toBe(true);
    expect(r.patch?.[0].patch).toEqual({ metadata: { finalizers: [] } });
  });

  it('a deleted node whose agent said it stopped (and stopped its containers) goes at once', () => {
    const r = reconcileNodeDeletion(node({ deleting: true, ready: 'False', reason: 'AgentStopped' }), input({ containers: [container('a')] }));
    expect(r.released).toBe(true);
  });

  it('a deleted node with containers waits until last heartbeat + grace + their stop grace + margin, then goes', () => {
    const n = node({ deleting: true, heartbeatAgoMs: 500 });
    const waiting = reconcileNodeDeletion(n, input({ containers: [container('a', 5), container('b', 30)] }));
    expect(waiting.released).toBeUndefined();
    // 10 s grace + 30 s stop grace + 2 s margin after the heartbeat 0.5 s ago, plus the slack for the reconcilers to move them
    expect(waiting.requeueAfter).toBe(10_000 + 30_000 + 2_000 - 500 + NODE_RELEASE_SLACK_MS);
    const later = reconcileNodeDeletion(n, input({ now: NOW + 42_000 + NODE_RELEASE_SLACK_MS, containers: [container('a', 5), container('b', 30)] }));
    expect(later.released).toBe(true);
    // only pinned containers left (they never move): it goes at once
    expect(reconcileNodeDeletion(n, input({ containers: [container('p', 5, true)] })).released).toBe(true);
  });

  it('agents bound there hold it up to the agents\' fencing deadline', () => {
    const r = reconcileNodeDeletion(node({ deleting: true, heartbeatAgoMs: 0 }), input({ agents: [agent('bot')] }));
    expect(r.requeueAfter).toBe(10_000 + 10_000 + 2_000 + NODE_RELEASE_SLACK_MS);
  });
});

describe('reconcilers and a deleted node', () => {
  const opts = { ...policy, managerStartedAt: NOW - 3_600_000 };
  it('a container on a deleted node that still says Ready is lost only at its fencing deadline', () => {
    const n = node({ deleting: true, heartbeatAgoMs: 1000 });
    expect(nodeLoss(n, container('a', 5), NOW, opts)).toEqual({ lost: false, retryAfterMs: 10_000 + 5_000 + 2_000 - 1000 });
    expect(nodeLoss(n, container('a', 5), NOW + 16_000, opts)).toEqual({ lost: true, why: 'deleted' });
    // not deleting and Ready: not lost
    expect(nodeLoss(node(), container('a', 5), NOW + 60_000, opts)).toEqual({ lost: false });
  });

  it('an agent on a deleted node moves only at the agents\' fencing deadline, saying the node was deleted', () => {
    const n = node({ deleting: true, heartbeatAgoMs: 0 });
    const host = { ...container('host'), spec: { image: 'x', agentHost: {} } };
    const view = (now: number) => ({ now, nodes: [n], containers: [host], gracePeriodMs: policy.gracePeriodMs, managerStartedAt: NOW - 3_600_000 });
    const early = planMigrations([agent('bot')], view(NOW + 1000));
    expect(early.unbind).toEqual([]);
    expect(early.requeueAfter).toBe(10_000 + 10_000 + 2_000 - 1000);
    const due = planMigrations([agent('bot')], view(NOW + 22_000));
    expect(due.unbind.map((d) => d.from.reason)).toEqual(['node deleted']);
  });
});

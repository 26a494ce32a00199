import { describe, it, expect } from '@jest/globals';
import {
  reconcileNodeLifecycle, failurePolicyOf, NOT_READY_SINCE_ANNOTATION, DEFAULT_FAILURE_POLICY,
} from '../../reconcilers/node-lifecycle.ts';
import type { Condition, KubeObject } from '../../core/types.ts';

const T0 = Date.UTC(2026, 10, 23, 15, 50, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const policy = { heartbeatIntervalMs: 2000, gracePeriodMs: 10_000 };
const longAgo = T0 - 3_600_000; // the manager has been up for an hour

function node(o: { heartbeatAt?: number; ready?: Condition['status']; reason?: string; marked?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Node',
    metadata: {
      name: 'node-a', namespace: 'c1', uid: 'u-a', creationTimestamp: iso(longAgo),
      annotations: o.marked ? { [NOT_READY_SINCE_ANNOTATION]: iso(T0 - 60_000) } : undefined,
    },
    spec: {},
    status: {
      lastHeartbeatTime: o.heartbeatAt === undefined ? undefined : iso(o.heartbeatAt),
      conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: o.reason ?? 'AgentReady' }],
    },
  };
}
const readyOf = (st: Record<string, unknown> | undefined) => (st?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
const annotationPatch = (r: ReturnType<typeof reconcileNodeLifecycle>) =>
  (r.patch?.[0]?.patch as { metadata?: { annotations?: Record<string, unknown> } } | undefined)?.metadata?.annotations?.[NOT_READY_SINCE_ANNOTATION];

describe('reconcileNodeLifecycle', () => {
  it.each([
    { name: 'fresh heartbeat: nothing to do, wake at the deadline', heartbeatAt: T0 - 3000, startedAt: longAgo, requeue: 7000 },
    { name: 'one ms before the deadline', heartbeatAt: T0 - 9999, startedAt: longAgo, requeue: 1 },
    { name: 'manager just restarted: its start time is the floor', heartbeatAt: T0 - 60_000, startedAt: T0 - 4000, requeue: 6000 },
  ])('$name', ({ heartbeatAt, startedAt, requeue }) => {
    const res = reconcileNodeLifecycle(node({ heartbeatAt }), { now: T0, managerStartedAt: startedAt, policy });
    expect(res).toEqual({ requeueAfter: requeue });
  });

  it('a silent node past the grace period becomes Ready=Unknown with an event saying for how long', () => {
    const res = reconcileNodeLifecycle(node({ heartbeatAt: T0 - 12_000 }), { now: T0, managerStartedAt: longAgo, policy });
    expect(readyOf(res.status)).toEqual({
      type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown',
      message: 'no heartbeat for 12s (grace period 10s)', lastTransitionTime: iso(T0),
    });
    expect(res.events).toEqual([{ type: 'Warning', reason: 'NodeNotReady', message: 'no heartbeat for 12s (grace period 10s)' }]);
    expect(annotationPatch(res)).toBe(iso(T0));
    // lastHeartbeatTime and the rest of the status are kept
    expect(res.status?.lastHeartbeatTime).toBe(iso(T0 - 12_000));
  });

  it('exactly at the deadline counts as lost', () => {
    const res = reconcileNodeLifecycle(node({ heartbeatAt: T0 - 10_000 }), { now: T0, managerStartedAt: longAgo, policy });
    expect(readyOf(res.status)?.status).toBe('Unknown');
  });

  it('after a manager restart the floor holds, then the node is declared lost', () => {
    const n = node({ heartbeatAt: T0 - 60_000 });
    expect(reconcileNodeLifecycle(n, { now: T0 + 9_000, managerStartedAt: T0, policy }).status).toBeUndefined();
    expect(readyOf(reconcileNodeLifecycle(n, { now: T0 + 10_000, managerStartedAt: T0, policy }).status)?.status).toBe('Unknown');
  });

  it('an already lost node is not written again', () => {
    const res = reconcileNodeLifecycle(node({ heartbeatAt: T0 - 30_000, ready: 'Unknown', reason: 'NodeStatusUnknown', marked: true }), { now: T0, managerStartedAt: longAgo, policy });
    expect(res).toEqual({});
  });

  it('heartbeats returning (agent set Ready=True) record NodeReady once and clear the mark', () => {
    const back = node({ heartbeatAt: T0 - 500, marked: true });
    const res = reconcileNodeLifecycle(back, { now: T0, managerStartedAt: longAgo, policy });
    expect(res.status).toBeUndefined();
    expect(res.events).toEqual([{ type: 'Normal', reason: 'NodeReady', message: 'node agent is heartbeating again' }]);
    expect(annotationPatch(res)).toBeNull();
    expect(res.requeueAfter).toBe(9500);
  });

  it('a graceful agent stop (Ready=False AgentStopped) is announced once, not overwritten', () => {
    const stopped = node({ heartbeatAt: T0 - 1000, ready: 'False', reason: 'AgentStopped' });
    const res = reconcileNodeLifecycle(stopped, { now: T0, managerStartedAt: longAgo, policy });
    expect(res.status).toBeUndefined();
    expect(res.events?.map((e) => e.reason)).toEqual(['NodeNotReady']);
    const again = reconcileNodeLifecycle({ ...stopped, metadata: { ...stopped.metadata, annotations: { [NOT_READY_SINCE_ANNOTATION]: iso(T0) } } }, { now: T0 + 60_000, managerStartedAt: longAgo, policy });
    expect(again).toEqual({});
  });

  it('a node that never heartbeat counts from its creation', () => {
    const res = reconcileNodeLifecycle(node({}), { now: T0, managerStartedAt: longAgo, policy });
    expect(readyOf(res.status)?.message).toBe('no heartbeat for 1h (grace period 10s)');
  });
});

describe('failurePolicyOf', () => {
  it.each([
    { name: 'no cluster', cluster: undefined, want: DEFAULT_FAILURE_POLICY },
    { name: 'custom', cluster: { failurePolicy: { heartbeatInterval: '500ms', gracePeriod: '1m30s' } }, want: { heartbeatIntervalMs: 500, gracePeriodMs: 90_000 } },
    { name: 'malformed falls back', cluster: { failurePolicy: { heartbeatInterval: 'soon', gracePeriod: '3s' } }, want: { heartbeatIntervalMs: 2000, gracePeriodMs: 3000 } },
  ])('$name', ({ cluster, want }) => {
    const obj: KubeObject | undefined = cluster && { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c1' }, spec: cluster };
    expect(failurePolicyOf(obj)).toEqual(want);
  });
});

import { describe, it, expect } from '@jest/globals';
import {
  reconcileContainer, specHash, CONTAINER_FINALIZER, EVICT_ANNOTATION, MOVED_FROM_ANNOTATION, RESTART_HANDLED_ANNOTATION, RESTARTED_AT_ANNOTATION, SPEC_HASH_ANNOTATION,
  type ContainerSnapshot,
  UNSCHEDULABLE_RETRY_MS,
} from '../../reconcilers/container-reconciler.ts';
import type { Condition, KubeObject } from '../../core/types.ts';
import type { ContainerSpec } from '../../core/kinds.generated.ts';

const V = 'drover.dev/v1alpha1';
const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const policy = { heartbeatIntervalMs: 2000, gracePeriodMs: 10_000, managerStartedAt: NOW - 3_600_000 };

interface CtrOpts {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  generation?: number;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deleting?: boolean;
}
function ctr(name: string, o: CtrOpts = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Container',
    metadata: {
      name, namespace: 'c1', uid: `u-${name}`, generation: o.generation ?? 1, annotations: o.annotations,
      finalizers: o.finalizers ?? [CONTAINER_FINALIZER], deletionTimestamp: o.deleting ? iso(NOW - 1000) : undefined,
    },
    spec: { command: ['sleep', '100'], ...o.spec },
    status: o.status ?? {},
  };
}
function node(name: string, o: { ready?: Condition['status']; reason?: string; heartbeatAgoMs?: number } = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1' }, spec: {},
    status: {
      allocatable: { cpu: '4', memory: '8Gi', containers: 10 },
      lastHeartbeatTime: iso(NOW - (o.heartbeatAgoMs ?? 1000)),
      conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: o.reason ?? 'AgentReady' }],
    },
  };
}
let seq = 0;
function task(type: string, nodeName: string, state: string | undefined, generation = 1, o: { annotations?: Record<string, string>; attempts?: number; message?: string; target?: string } = {}): KubeObject {
  const target = o.target ?? 'web';
  return {
    apiVersion: V, kind: 'Task',
    metadata: { name: `${target}-${type}-${seq++}`, namespace: 'c1', uid: `t-${seq}`, creationTimestamp: iso(NOW - 100_000 + seq * 1000), annotations: o.annotations, labels: { 'drover.dev/container': target } },
    spec: { type, target: { kind: 'Container', name: target, uid: `u-${target}`, generation }, nodeName, maxRetries: 3 },
    status: state ? { state, attempts: o.attempts ?? 1, message: o.message } : undefined,
  };
}
const bound = (nodeName: string, extra: Record<string, unknown> = {}) => ({ nodeName, phase: 'Scheduled', ...extra });
const running = (nodeName: string, extra: Record<string, unknown> = {}) => ({ nodeName, phase: 'Running', observedGeneration: 1, containerID: 'process://42', ...extra });
const snap = (o: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({ nodes: [node('node-a'), node('node-b')], containers: [], tasks: [], ...o });
const hashOf = (c: KubeObject) => specHash(c.spec as ContainerSpec);
const deployedWith = (c: KubeObject, nodeName = 'node-a', state = 'Completed') => task('deploy', nodeName, state, c.metadata.generation, { annotations: { [SPEC_HASH_ANNOTATION]: hashOf(c) } });
const taskTypes = (r: ReturnType<typeof reconcileContainer>) => (r.tasks ?? []).map((t) => `${(t.spec as { type: string }).type}@${(t.spec as { nodeName: string }).nodeName}`);

describe('reconcileContainer: discovered (spec.managed=false)', () => {
  it('one pinned to a node is bound to it and nothing else: no finalizer, no tasks, no phase', () => {
    const c = ctr('seeds', { spec: { managed: false, nodeName: 'node-a', agentHost: {} }, finalizers: [] });
    const r = reconcileContainer(c, snap(), NOW, policy);
    expect(r).toEqual({ status: { nodeName: 'node-a' } });
  });

  it('once bound (or without a node) it is only observed', () => {
    expect(reconcileContainer(ctr('seeds', { spec: { managed: false, nodeName: 'node-a' }, finalizers: [], status: { nodeName: 'node-a', phase: 'Running' } }), snap(), NOW, policy)).toEqual({});
    expect(reconcileContainer(ctr('seeds', { spec: { managed: false }, finalizers: [] }), snap(), NOW, policy)).toEqual({});
  });
});

describe('reconcileContainer: placement', () => {
  it('a new container gets the finalizer and is bound to a node (phase Scheduled), without tasks yet', () => {
    const c = ctr('web', { finalizers: [] });
    const res = reconcileContainer(c, snap(), NOW, policy);
    expect(res.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Container', name: 'web' }), patch: { metadata: { finalizers: [CONTAINER_FINALIZER] } } }]);
    expect(res.status).toEqual({ nodeName: 'node-a', phase: 'Scheduled' });
    expect(res.events).toEqual([{ type: 'Normal', reason: 'Scheduled', message: 'assigned to node node-a' }]);
    expect(res.tasks).toBeUndefined();
  });

  it('nothing fits: Pending/Unschedulable with a message naming why, and one FailedScheduling event', () => {
    const c = ctr('web', { spec: { resources: { requests: { memory: '16Gi' } } } });
    const res = reconcileContainer(c, snap({ nodes: [node('node-a', { ready: 'Unknown' }), node('node-b')] }), NOW, policy);
    expect(res.status).toEqual({ phase: 'Pending', reason: 'Unschedulable', message: '0/2 nodes: 1 not ready, 1 insufficient memory' });
    expect(res.events?.map((e) => e.reason)).toEqual(['FailedScheduling']);
    // Same answer again: no second event, no write
    const again = reconcileContainer({ ...c, status: res.status }, snap({ nodes: [node('node-a', { ready: 'Unknown' }), node('node-b')] }), NOW, policy);
    expect(again).toEqual({ requeueAfter: UNSCHEDULABLE_RETRY_MS }); // retried later, but nothing new written
  });

  it('a pinned container is bound to its node silently, keeping what its agent reported', () => {
    const c = ctr('web', { spec: { nodeName: 'node-b' }, status: { phase: 'Running', containerID: 'process://1' } });
    const res = reconcileContainer(c, snap(), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-b', phase: 'Running', containerID: 'process://1' });
    expect(res.events).toBeUndefined();
  });

  it('a drained container (binding cleared, old runtime report left) is placed again from scratch', () => {
    const c = ctr('web', { status: { phase: 'Running', containerID: 'process://1', health: 'Healthy', restarts: 2 } });
    const res = reconcileContainer(c, snap({ nodes: [node('node-b')] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-b', phase: 'Scheduled', restarts: 2 });
  });
});

describe('reconcileContainer: drain (eviction request)', () => {
  const REQ = 'node-a@2026-11-23T15:59:00.000Z';
  const evicting = (status = running('node-a')) => ctr('web', { annotations: { [EVICT_ANNOTATION]: REQ }, status });
  const cordoned = () => ({ ...node('node-a'), spec: { unschedulable: true } });

  it('first removes the copy on the drained node with a delete Task, staying bound there meanwhile', () => {
    const c = evicting();
    const res = reconcileContainer(c, snap({ nodes: [cordoned(), node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(taskTypes(res)).toEqual(['delete@node-a']);
    expect(res.tasks![0].metadata.annotations).toEqual({ [EVICT_ANNOTATION]: REQ });
    expect(res.status).toBeUndefined();
    // while that delete runs: nothing new, still bound
    const del = task('delete', 'node-a', 'Running', 1, { annotations: { [EVICT_ANNOTATION]: REQ } });
    const waiting = reconcileContainer(c, snap({ nodes: [cordoned(), node('node-b')], tasks: [deployedWith(c), del] }), NOW, policy);
    expect(waiting.tasks).toBeUndefined();
    expect(waiting.status).toBeUndefined();
  });

  it('once that delete completed: placed on another node, with a Rescheduled event, and the request cleared', () => {
    const c = evicting();
    const del = task('delete', 'node-a', 'Completed', 1, { annotations: { [EVICT_ANNOTATION]: REQ } });
    const res = reconcileContainer(c, snap({ nodes: [cordoned(), node('node-b')], tasks: [deployedWith(c), del] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-b', phase: 'Scheduled' });
    expect(res.events).toEqual([{ type: 'Normal', reason: 'Rescheduled', message: 'moved from node node-a (drained) to node-b' }]);
    expect(res.patch?.map((p) => p.patch)).toContainEqual({ metadata: { annotations: { [EVICT_ANNOTATION]: null } } });
  });

  it('a delete of an earlier drain does not count for this one', () => {
    const c = evicting();
    const old = task('delete', 'node-a', 'Completed', 1, { annotations: { [EVICT_ANNOTATION]: 'node-a@2026-11-01T00:00:00.000Z' } });
    const res = reconcileContainer(c, snap({ nodes: [cordoned(), node('node-b')], tasks: [old, deployedWith(c)] }), NOW, policy);
    expect(taskTypes(res)).toEqual(['delete@node-a']);
  });

  it('a pinned container is not moved; the request is dropped', () => {
    const c = ctr('web', { annotations: { [EVICT_ANNOTATION]: REQ }, spec: { nodeName: 'node-a' }, status: running('node-a') });
    const res = reconcileContainer(c, snap({ tasks: [deployedWith(c)] }), NOW, policy);
    expect(res.tasks).toBeUndefined();
    expect(res.patch?.map((p) => p.patch)).toEqual([{ metadata: { annotations: { [EVICT_ANNOTATION]: null } } }]);
  });
});

describe('reconcileContainer: tasks', () => {
  const db = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) => ctr('db', { spec, status: { nodeName: 'node-b', ...status } });

  it.each([
    { name: 'dependency missing', deps: [{ name: 'db', condition: 'Healthy' }], containers: [], message: 'waiting for db (Healthy)' },
    { name: 'dependency scheduled but not started', deps: [{ name: 'db' }], containers: [db({ phase: 'Scheduled' })], message: 'waiting for db (Started)' },
    { name: 'started but not healthy yet', deps: [{ name: 'db', condition: 'Healthy' }], containers: [db({ phase: 'Running', health: 'Starting' }, { healthCheck: { tcp: { port: 5432 } } })], message: 'waiting for db (Healthy)' },
    {
      name: 'two dependencies, one met',
      deps: [{ name: 'db', condition: 'Started' }, { name: 'cache', condition: 'Healthy' }],
      containers: [db({ phase: 'Running' })],
      message: 'waiting for cache (Healthy)',
    },
  ])('bound, dependencies unmet ($name) → Pending with a message, no task', ({ deps, containers, message }) => {
    const c = ctr('web', { spec: { dependsOn: deps }, status: bound('node-a') });
    const res = reconcileContainer(c, snap({ containers: [c, ...containers] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-a', phase: 'Pending', reason: 'WaitingForDependencies', message });
    expect(res.tasks).toBeUndefined();
  });

  it.each([
    { name: 'no dependencies', deps: [], containers: [] },
    { name: 'Started via condition', deps: [{ name: 'db', condition: 'Started' }], containers: [db({ phase: 'Starting', conditions: [{ type: 'Started', status: 'True' }] })] },
    { name: 'Healthy via health', deps: [{ name: 'db', condition: 'Healthy' }], containers: [db({ phase: 'Running', health: 'Healthy' }, { healthCheck: { tcp: { port: 5432 } } })] },
    { name: 'Healthy: running without a health check', deps: [{ name: 'db', condition: 'Healthy' }], containers: [db({ phase: 'Running' })] },
  ])('dependencies met ($name) → exactly one deploy task for the bound node', ({ deps, containers }) => {
    const c = ctr('web', { spec: { dependsOn: deps }, status: { nodeName: 'node-a', phase: 'Pending', reason: 'WaitingForDependencies', message: 'waiting' }, annotations: { [RESTARTED_AT_ANNOTATION]: 'r1' } });
    const res = reconcileContainer(c, snap({ containers: [c, ...containers] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-a', phase: 'Scheduled' });
    expect(res.tasks).toHaveLength(1);
    expect(res.tasks![0]).toMatchObject({
      apiVersion: V, kind: 'Task',
      metadata: {
        generateName: 'web-deploy-', namespace: 'c1',
        labels: { 'drover.dev/container': 'web', 'drover.dev/node': 'node-a' },
        // The deploy starts fresh, so it covers the restart asked for before it.
        annotations: { [SPEC_HASH_ANNOTATION]: hashOf(c), [RESTARTED_AT_ANNOTATION]: 'r1' },
        ownerReferences: [{ kind: 'Container', name: 'web', uid: 'u-web', controller: true }],
      },
      spec: { type: 'deploy', target: { kind: 'Container', name: 'web', uid: 'u-web', generation: 1 }, nodeName: 'node-a', priority: 5, maxRetries: 3, timeout: '5m' },
    });
  });

  it.each([
    {
      name: 'deploy pending → nothing new (idempotent)',
      c: ctr('web', { status: bound('node-a') }), tasks: (c: KubeObject) => [deployedWith(c, 'node-a', 'Pending')], want: [],
    },
    {
      name: 'deploy failed with retries left → nothing new',
      c: ctr('web', { status: bound('node-a') }), tasks: () => [task('deploy', 'node-a', 'Failed', 1, { attempts: 1 })], want: [],
    },
    {
      name: 'deploy of an older uid (recreated container) does not count',
      c: ctr('web', { status: bound('node-a') }),
      tasks: () => [{ ...task('deploy', 'node-a', 'Completed'), spec: { type: 'deploy', target: { kind: 'Container', name: 'web', uid: 'old' }, nodeName: 'node-a' } }],
      want: ['deploy@node-a'],
    },
    {
      name: 'spec change (generation 2) → update',
      c: ctr('web', { generation: 2, spec: { env: [{ name: 'A', value: '2' }] }, status: running('node-a') }),
      tasks: () => [task('deploy', 'node-a', 'Completed', 1, { annotations: { [SPEC_HASH_ANNOTATION]: 'old' } })], want: ['update@node-a'],
    },
    {
      name: 'update already queued for this generation → nothing',
      c: ctr('web', { generation: 2, status: running('node-a') }),
      tasks: (c: KubeObject) => [task('deploy', 'node-a', 'Completed', 1, { annotations: { [SPEC_HASH_ANNOTATION]: 'old' } }), task('update', 'node-a', 'Queued', 2, { annotations: { [SPEC_HASH_ANNOTATION]: hashOf(c) } })],
      want: [],
    },
    {
      name: 'state Stopped → stop, not update',
      c: ctr('web', { generation: 2, spec: { state: 'Stopped' }, status: running('node-a') }),
      tasks: () => [task('deploy', 'node-a', 'Completed', 1, { annotations: { [SPEC_HASH_ANNOTATION]: specHash({ command: ['sleep', '100'] }) } })],
      want: ['stop@node-a'],
    },
    {
      name: 'stop already asked → nothing',
      c: ctr('web', { generation: 2, spec: { state: 'Stopped' }, status: running('node-a', { phase: 'Stopped' }) }),
      tasks: () => [task('deploy', 'node-a', 'Completed', 1), task('stop', 'node-a', 'Completed', 2)], want: [],
    },
    {
      name: 'Running again after a stop → start',
      c: ctr('web', { generation: 3, spec: { state: 'Running' }, status: running('node-a', { phase: 'Stopped' }) }),
      tasks: () => [task('deploy', 'node-a', 'Completed', 1), task('stop', 'node-a', 'Completed', 2)], want: ['start@node-a'],
    },
    {
      name: 'restart annotation → one restart',
      c: ctr('web', { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T15:00:00Z' }, status: running('node-a') }),
      tasks: (c: KubeObject) => [deployedWith(c)], want: ['restart@node-a'],
    },
    {
      name: 'restart value already handled (task in any state) → nothing',
      c: ctr('web', { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T15:00:00Z' }, status: running('node-a') }),
      tasks: (c: KubeObject) => [deployedWith(c), task('restart', 'node-a', 'Cancelled', 1, { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T15:00:00Z' } })], want: [],
    },
    {
      name: 'a second, different restart value → another restart (the dispatcher serialises them)',
      c: ctr('web', { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T15:00:01Z' }, status: running('node-a') }),
      tasks: (c: KubeObject) => [deployedWith(c), task('restart', 'node-a', 'Running', 1, { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T15:00:00Z' } })],
      want: ['restart@node-a'],
    },
    {
      name: 'Stopped container: a restart request waits for it to run',
      c: ctr('web', { generation: 2, spec: { state: 'Stopped' }, annotations: { [RESTARTED_AT_ANNOTATION]: 'x' }, status: running('node-a', { phase: 'Stopped' }) }),
      tasks: () => [task('deploy', 'node-a', 'Completed', 1), task('stop', 'node-a', 'Completed', 2)], want: [],
    },
  ])('$name', ({ c, tasks, want }) => {
    const res = reconcileContainer(c, snap({ tasks: tasks(c) }), NOW, policy);
    expect(taskTypes(res)).toEqual(want);
  });

  it('a handled restart is remembered on the container, so pruning its task never repeats it', () => {
    const annotations = { [RESTARTED_AT_ANNOTATION]: 'r1' };
    const c = ctr('web', { annotations, status: running('node-a') });
    const withTask = reconcileContainer(c, snap({ tasks: [deployedWith(c), task('restart', 'node-a', 'Completed', 1, { annotations })] }), NOW, policy);
    expect(withTask).toEqual({ patch: [{ ref: expect.objectContaining({ kind: 'Container' }), patch: { metadata: { annotations: { [RESTART_HANDLED_ANNOTATION]: 'r1' } } } }] });
    const remembered = ctr('web', { annotations: { ...annotations, [RESTART_HANDLED_ANNOTATION]: 'r1' }, status: running('node-a') });
    expect(reconcileContainer(remembered, snap({ tasks: [deployedWith(remembered)] }), NOW, policy)).toEqual({});
  });

  it('a deploy that failed for good sets phase Failed with its message (once)', () => {
    const c = ctr('web', { status: bound('node-a') });
    const failed = task('deploy', 'node-a', 'Failed', 1, { attempts: 3, message: 'exec: "nope": not found' });
    const res = reconcileContainer(c, snap({ tasks: [failed] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-a', phase: 'Failed', reason: 'DeployFailed', message: 'deploy failed after 3 attempts: exec: "nope": not found' });
    expect(res.events?.map((e) => e.reason)).toEqual(['DeployFailed']);
    expect(res.tasks).toBeUndefined();
    expect(reconcileContainer({ ...c, status: res.status }, snap({ tasks: [failed] }), NOW, policy)).toEqual({});
    // A fixed spec (new generation) deploys again
    const fixed = reconcileContainer({ ...c, metadata: { ...c.metadata, generation: 2 }, status: res.status }, snap({ tasks: [failed] }), NOW, policy);
    expect(taskTypes(fixed)).toEqual(['deploy@node-a']);
    expect(fixed.status?.phase).toBe('Scheduled');
  });

  it('never overwrites a phase the agent reported', () => {
    const c = ctr('web', { status: running('node-a', { phase: 'Restarting', message: 'back-off 4s' }) });
    const res = reconcileContainer(c, snap({ tasks: [deployedWith(c)] }), NOW, policy);
    expect(res).toEqual({});
  });
});

describe('reconcileContainer: deletion', () => {
  const deleting = (status: Record<string, unknown>) => ctr('web', { deleting: true, status, finalizers: [CONTAINER_FINALIZER, 'other.io/keep'] });

  it('deployed → a delete task without owner (the owner is going away); pending work is cancelled', () => {
    const c = deleting(running('node-a'));
    const pendingUpdate = task('update', 'node-a', 'Queued', 1);
    const res = reconcileContainer(c, snap({ tasks: [deployedWith(c), pendingUpdate] }), NOW, policy);
    expect(taskTypes(res)).toEqual(['delete@node-a']);
    expect(res.tasks![0].metadata.ownerReferences).toBeUndefined();
    expect(res.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Task', name: pendingUpdate.metadata.name }), patch: { status: expect.objectContaining({ state: 'Cancelled', reason: 'ContainerDeleted' }) } }]);
  });

  it('delete task running → wait; Completed → finalizer removed (other finalizers kept)', () => {
    const c = deleting(running('node-a'));
    expect(reconcileContainer(c, snap({ tasks: [deployedWith(c), task('delete', 'node-a', 'Running')] }), NOW, policy)).toEqual({});
    const done = reconcileContainer(c, snap({ tasks: [deployedWith(c), task('delete', 'node-a', 'Completed')] }), NOW, policy);
    expect(done.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Container', name: 'web' }), patch: { metadata: { finalizers: ['other.io/keep'] } } }]);
    expect(done.tasks).toBeUndefined();
  });

  it.each([
    { name: 'never bound', status: {}, nodes: [node('node-a')], tasks: [] as KubeObject[] },
    { name: 'bound but never sent to the node', status: bound('node-a'), nodes: [node('node-a')], tasks: [] },
    { name: 'its node is gone', status: running('node-a'), nodes: [], tasks: [task('deploy', 'node-a', 'Completed')] },
    { name: 'its node is lost past the fencing time', status: running('node-a'), nodes: [node('node-a', { ready: 'Unknown', heartbeatAgoMs: 23_000 })], tasks: [task('deploy', 'node-a', 'Completed')] },
  ])('finalizer removed at once: $name', ({ status, nodes, tasks }) => {
    const c = ctr('web', { deleting: true, status });
    const res = reconcileContainer(c, snap({ nodes, tasks }), NOW, policy);
    expect(res.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Container' }), patch: { metadata: { finalizers: null } } }]);
    expect(res.tasks).toBeUndefined();
  });
});

describe('reconcileContainer: lost nodes and fencing', () => {
  // Fencing time = lastHeartbeat + grace (10s) + terminationGracePeriodSeconds (default 10s) + 2s = 22s.
  const lostFor = (ms: number) => node('node-a', { ready: 'Unknown', reason: 'NodeStatusUnknown', heartbeatAgoMs: ms });

  it('bound to a NotReady node before the fencing time → nothing moves, wake at the deadline', () => {
    const c = ctr('web', { status: running('node-a') });
    const res = reconcileContainer(c, snap({ nodes: [lostFor(15_000), node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(res).toEqual({ requeueAfter: 7000 });
  });

  it('terminationGracePeriodSeconds stretches the wait', () => {
    const c = ctr('web', { spec: { terminationGracePeriodSeconds: 30 }, status: running('node-a') });
    const res = reconcileContainer(c, snap({ nodes: [lostFor(30_000), node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(res).toEqual({ requeueAfter: 12_000 });
  });

  it('after the fencing time → placed on another node, Rescheduled event, leftover tasks on the lost node cancelled', () => {
    const c = ctr('web', { status: running('node-a', { restarts: 1, health: 'Healthy' }) });
    const leftover = task('restart', 'node-a', 'Assigned');
    const res = reconcileContainer(c, snap({ nodes: [lostFor(22_000), node('node-b')], tasks: [deployedWith(c), leftover] }), NOW, policy);
    expect(res.status).toEqual({ nodeName: 'node-b', phase: 'Scheduled', restarts: 1 });
    expect(res.events).toEqual([{ type: 'Normal', reason: 'Rescheduled', message: 'moved from node node-a (NotReady) to node-b' }]);
    expect(res.patch).toEqual([{ ref: expect.objectContaining({ name: leftover.metadata.name }), patch: { status: expect.objectContaining({ state: 'Cancelled', reason: 'NodeLost' }) } }]);
    expect(res.tasks).toBeUndefined(); // the deploy on node-b follows once the binding is stored
    // …and then: one deploy on node-b (the Completed deploy on node-a does not count)
    const next = reconcileContainer({ ...c, status: res.status }, snap({ nodes: [lostFor(22_000), node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(taskTypes(next)).toEqual(['deploy@node-b']);
  });

  it('no other node free when the fencing time passes → Pending, and the move is remembered for the Rescheduled event', () => {
    const c = ctr('web', { status: running('node-a') });
    const res = reconcileContainer(c, snap({ nodes: [lostFor(30_000)], tasks: [deployedWith(c)] }), NOW, policy);
    expect(res.status).toEqual({ phase: 'Pending', reason: 'Unschedulable', message: '0/1 nodes: 1 not ready' });
    expect(res.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Container' }), patch: { metadata: { annotations: { [MOVED_FROM_ANNOTATION]: 'node-a (NotReady)' } } } }]);
    const later = { ...c, metadata: { ...c.metadata, annotations: { [MOVED_FROM_ANNOTATION]: 'node-a (NotReady)' } }, status: res.status };
    const landed = reconcileContainer(later, snap({ nodes: [lostFor(40_000), node('node-b')] }), NOW, policy);
    expect(landed.status?.nodeName).toBe('node-b');
    expect(landed.events).toEqual([{ type: 'Normal', reason: 'Rescheduled', message: 'moved from node node-a (NotReady) to node-b' }]);
    expect(landed.patch).toEqual([{ ref: expect.objectContaining({ kind: 'Container' }), patch: { metadata: { annotations: { [MOVED_FROM_ANNOTATION]: null } } } }]);
  });

  it('a graceful agent stop (AgentStopped) lets the container move at once', () => {
    const c = ctr('web', { status: running('node-a') });
    const stopped = node('node-a', { ready: 'False', reason: 'AgentStopped', heartbeatAgoMs: 100 });
    const res = reconcileContainer(c, snap({ nodes: [stopped, node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(res.status?.nodeName).toBe('node-b');
  });

  it('a pinned container on a lost node stays where it is', () => {
    const c = ctr('web', { spec: { nodeName: 'node-a' }, status: running('node-a') });
    const res = reconcileContainer(c, snap({ nodes: [lostFor(60_000), node('node-b')], tasks: [deployedWith(c)] }), NOW, policy);
    expect(res).toEqual({});
  });

  it('a freshly restarted manager does not move anything before grace has passed since it started', () => {
    const c = ctr('web', { status: running('node-a') });
    const res = reconcileContainer(c, snap({ nodes: [lostFor(600_000), node('node-b')], tasks: [deployedWith(c)] }), NOW, { ...policy, managerStartedAt: NOW - 1000 });
    expect(res).toEqual({ requeueAfter: 21_000 });
  });
});

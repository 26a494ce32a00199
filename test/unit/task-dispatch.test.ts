// The pure dispatcher with an injected `now`: ordering, limits, conflicts, dependencies, leases,
// retries with backoff, timeouts, dedupe, and that a settled plan produces no further writes.
import { describe, it, expect } from '@jest/globals';
import { dispatch, backoffMs } from '../../reconcilers/task-dispatch.ts';
import type { DispatchSnapshot, DispatchPlan } from '../../reconcilers/task-dispatch.ts';
import type { Container, Node, Task, TaskStatus, TaskType } from '../../core/kinds.generated.ts';
import { CANCEL_REQUESTED_ANNOTATION } from '../../core/task-meta.ts';

const NOW = Date.UTC(2026, 10, 23, 15, 0, 0);
const NS = 'c1';
const iso = (ms: number) => new Date(ms).toISOString();

interface TaskOpts {
  type?: TaskType; target?: string; node?: string; priority?: number; createdSec?: number;
  status?: TaskStatus; dependsOn?: string[]; maxRetries?: number; timeout?: string; payload?: Record<string, unknown>;
  annotations?: Record<string, string>;
}
function task(name: string, o: TaskOpts = {}): Task {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Task',
    metadata: { name, namespace: NS, uid: `uid-${name}`, creationTimestamp: iso(NOW - 60_000 + (o.createdSec ?? 0) * 1000), ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      type: o.type ?? 'restart', target: { kind: 'Container', name: o.target ?? 'api' }, nodeName: o.node ?? 'node-a',
      ...(o.priority !== undefined ? { priority: o.priority } : {}), ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}), ...(o.timeout ? { timeout: o.timeout } : {}),
      ...(o.payload ? { payload: o.payload } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}
function node(name: string, ready = true): Node {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name, namespace: NS },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown', reason: ready ? 'AgentReady' : 'NodeStatusUnknown' }] },
  };
}
function container(name: string, dependsOn: string[] = [], phase?: string): Container {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: NS },
    spec: { command: ['sleep', '1'], dependsOn: dependsOn.map((d) => ({ name: d, condition: 'Healthy' as const })) },
    ...(phase ? { status: { phase: phase as 'Running' } } : {}),
  };
}
const snap = (tasks: Task[], extra: Partial<DispatchSnapshot> = {}): DispatchSnapshot =>
  ({ tasks, nodes: [node('node-a'), node('node-b')], containers: [], ...extra });
const statusOf = (plan: DispatchPlan, name: string) => plan.statusUpdates.find((u) => u.name === name)?.status;
/** The tasks with the plan applied, as the store would hold them afterwards. */
function applied(tasks: Task[], plan: DispatchPlan): Task[] {
  return tasks.map((t) => {
    const s = statusOf(plan, t.metadata.name);
    return s ? { ...t, status: s } : t;
  });
}
const running = (extra: Partial<TaskStatus> = {}): TaskStatus =>
  ({ state: 'Running', attempts: 1, leaseHolder: 'node-a', startedAt: iso(NOW - 5000), leaseExpiresAt: iso(NOW + 25_000), ...extra });

describe('release order and limits', () => {
  it('releases by priority desc, then age, then name, within the per-node limit', () => {
    const tasks = ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => task(`t-${n}`, { target: `svc-${n}`, priority: i === 5 ? 9 : 5, createdSec: 10 - i }));
    const plan = dispatch(snap(tasks), NOW);
    const assigned = plan.statusUpdates.filter((u) => u.status.state === 'Assigned').map((u) => u.name).sort();
    // t-f has the highest priority; then the oldest: t-e, t-d, t-c.
    expect(assigned).toEqual(['t-c', 't-d', 't-e', 't-f']);
    for (const n of ['t-a', 't-b']) expect(statusOf(plan, n)).toMatchObject({ state: 'Queued', waitReason: 'NodeBusy', message: 'waiting: 4 tasks already running on node-a' });
    expect(statusOf(plan, 't-c')?.assignedAt).toBe(iso(NOW));
  });

  it('counts tasks already Running against the node limit', () => {
    const busy = [1, 2, 3].map((i) => task(`r${i}`, { target: `x${i}`, status: running() }));
    const plan = dispatch(snap([...busy, task('new1', { target: 'y1' }), task('new2', { target: 'y2', createdSec: 1 })]), NOW, { perNodeLimit: 4 });
    expect(statusOf(plan, 'new1')?.state).toBe('Assigned');
    expect(statusOf(plan, 'new2')).toMatchObject({ state: 'Queued', waitReason: 'NodeBusy' });
  });

  it.each<[string, TaskType, TaskType, string]>([
    ['two restarts at once: the first runs, the second waits', 'restart', 'restart', 'Conflict'],
    ['a config update during a restart waits', 'restart', 'update', 'Conflict'],
    ['a start during a stop waits', 'stop', 'start', 'Conflict'],
    ['a start during an update is compatible but the per-container limit of 1 holds it', 'update', 'start', 'ContainerBusy'],
  ])('%s', (_title, first, second, reason) => {
    const plan = dispatch(snap([task('one', { type: first, payload: { n: 1 } }), task('two', { type: second, createdSec: 1, payload: { n: 2 } })]), NOW);
    expect(statusOf(plan, 'one')?.state).toBe('Assigned');
    expect(statusOf(plan, 'two')).toMatchObject({ state: 'Queued', waitReason: reason, message: `waiting: ${first} of api in progress` });
  });

  it('lets a MEDIUM pair run together when the per-container limit allows, with a Warning event', () => {
    const plan = dispatch(snap([task('upd', { type: 'update', status: running() }), task('st', { type: 'start' })]), NOW, { perContainerLimit: 2 });
    expect(statusOf(plan, 'st')?.state).toBe('Assigned');
    expect(plan.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ConcurrentOperation', involvedObject: expect.objectContaining({ name: 'st' }) })]);
  });

  it('waits for a node that is not ready, and takes Assigned work back from a lost node', () => {
    const plan = dispatch(snap([task('p', { node: 'node-a' }), task('as', { target: 'w', node: 'node-a', status: { state: 'Assigned' } })], { nodes: [node('node-a', false)] }), NOW);
    expect(statusOf(plan, 'p')).toMatchObject({ state: 'Queued', waitReason: 'NodeNotReady', message: 'waiting: node node-a is not ready' });
    expect(statusOf(plan, 'as')).toMatchObject({ state: 'Queued', waitReason: 'NodeNotReady' });
  });
});

describe('dependencies', () => {
  it('holds a task until the tasks it dependsOn complete, then releases it', () => {
    const db = task('db-deploy-x2k4p', { type: 'deploy', target: 'db' });
    const web = task('web-deploy-aaaaa', { type: 'deploy', target: 'web', dependsOn: ['db-deploy-x2k4p'] });
    const p1 = dispatch(snap([db, web]), NOW);
    expect(statusOf(p1, 'db-deploy-x2k4p')?.state).toBe('Assigned');
    expect(statusOf(p1, 'web-deploy-aaaaa')).toMatchObject({ state: 'Queued', waitReason: 'Dependency', message: 'waiting for task db-deploy-x2k4p' });
    const done = applied([db, web], p1).map((t) => (t.metadata.name === 'db-deploy-x2k4p' ? { ...t, status: { state: 'Completed' as const, attempts: 1 } } : t));
    expect(statusOf(dispatch(snap(done), NOW + 1000), 'web-deploy-aaaaa')?.state).toBe('Assigned');
  });

  it.each<[string, TaskStatus]>([
    ['Cancelled', { state: 'Cancelled' }],
    ['Failed with no retries left', { state: 'Failed', attempts: 3, reason: 'ExitCode', message: 'exit 1' }],
  ])('fails a task whose dependency is %s', (_t, depStatus) => {
    const plan = dispatch(snap([task('dep', { target: 'db', status: depStatus }), task('me', { dependsOn: ['dep'] })]), NOW);
    expect(statusOf(plan, 'me')).toMatchObject({ state: 'Failed', reason: 'DependencyFailed' });
    expect(statusOf(plan, 'me')?.message).toMatch(/^dependency task dep is (Cancelled|Failed)/);
  });

  it('makes operations on a dependant wait while its dependency restarts, but not stops of the dependant', () => {
    const containers = [container('db'), container('api', ['db'])];
    const tasks = [task('db-restart', { target: 'db', status: running() }), task('api-restart', { target: 'api' }), task('api-stop', { type: 'stop', target: 'api', node: 'node-b', createdSec: -5 })];
    const plan = dispatch(snap(tasks, { containers }), NOW, { perContainerLimit: 2 });
    expect(statusOf(plan, 'api-stop')?.state).toBe('Assigned');
    expect(statusOf(plan, 'api-restart')).toMatchObject({ state: 'Queued', waitReason: 'Conflict' });
    // without the stop in the way, the restart waits for the dependency
    const plan2 = dispatch(snap([tasks[0], tasks[1]], { containers }), NOW);
    expect(statusOf(plan2, 'api-restart')).toMatchObject({ state: 'Queued', waitReason: 'Dependency', message: 'waiting: restart of db in progress' });
  });

  it('keeps a dependant waiting while its dependency is still coming back', () => {
    const plan = dispatch(snap([task('api-restart', { target: 'api' })], { containers: [container('db', [], 'Restarting'), container('api', ['db'])] }), NOW);
    expect(statusOf(plan, 'api-restart')).toMatchObject({ state: 'Queued', waitReason: 'Dependency', message: 'waiting: db is Restarting' });
  });
});

describe('leases, retries and timeouts', () => {
  it('returns a task whose lease expired to the queue, keeping its attempts, and releases it again', () => {
    const t = task('t', { status: running({ leaseExpiresAt: iso(NOW - 1) }) });
    const plan = dispatch(snap([t]), NOW);
    // requeued and, the node being ready, released again in the same pass
    expect(statusOf(plan, 't')).toMatchObject({ state: 'Assigned', attempts: 1 });
    expect(statusOf(plan, 't')?.leaseHolder).toBeUndefined();
    expect(plan.events.map((e) => e.reason)).toEqual(['TaskLeaseExpired']);
  });

  it('fails a task whose lease expired on its last attempt', () => {
    const plan = dispatch(snap([task('t', { maxRetries: 2, status: running({ attempts: 2, leaseExpiresAt: iso(NOW) }) })]), NOW);
    expect(statusOf(plan, 't')).toMatchObject({ state: 'Failed', reason: 'LeaseExpired', completedAt: iso(NOW) });
  });

  it.each([[1, 1000], [2, 2000], [3, 4000], [7, 60_000], [20, 60_000]])('backoff after attempt %i is %i ms', (attempts, ms) => {
    expect(backoffMs(attempts)).toBe(ms);
  });

  it('retries a task the agent marked Failed after a backoff, then releases it when the time comes', () => {
    const failed = task('t', { status: { state: 'Failed', attempts: 2, reason: 'ExitCode', message: 'exit status 1', completedAt: iso(NOW - 10) } });
    const p1 = dispatch(snap([failed]), NOW);
    expect(statusOf(p1, 't')).toMatchObject({
      state: 'Queued', waitReason: 'Backoff', nextAttemptAt: iso(NOW + 2000), attempts: 2,
      message: 'retrying in 2s (attempt 3 of 3): exit status 1',
    });
    expect(p1.requeueAfter).toBe(2000);
    const queued = applied([failed], p1);
    expect(dispatch(snap(queued), NOW + 1999).statusUpdates).toEqual([]);
    expect(statusOf(dispatch(snap(queued), NOW + 2000), 't')).toMatchObject({ state: 'Assigned', attempts: 2 });
  });

  it('leaves a Failed task with no retries left as it is', () => {
    expect(dispatch(snap([task('t', { maxRetries: 3, status: { state: 'Failed', attempts: 3, reason: 'ExitCode' } })]), NOW).statusUpdates).toEqual([]);
  });

  it('fails a Running task past its timeout, and asks to be woken for the earliest deadline', () => {
    const late = task('late', { timeout: '10s', status: running({ startedAt: iso(NOW - 10_000) }) });
    const soon = task('soon', { target: 'db', timeout: '1m', status: running({ startedAt: iso(NOW - 50_000), leaseExpiresAt: iso(NOW + 20_000) }) });
    const plan = dispatch(snap([late, soon]), NOW);
    expect(statusOf(plan, 'late')).toMatchObject({ state: 'Failed', reason: 'Timeout', message: 'timed out after 10s on node-a' });
    expect(statusOf(plan, 'soon')).toBeUndefined();
    expect(plan.requeueAfter).toBe(10_000); // soon's timeout comes before its lease expiry
  });
});

describe('dedupe, cancel and idempotence', () => {
  it('cancels an identical pending task as a Duplicate of the first', () => {
    const plan = dispatch(snap([task('a1', { type: 'deploy' }), task('a2', { type: 'deploy', createdSec: 1 })]), NOW);
    expect(statusOf(plan, 'a1')?.state).toBe('Assigned');
    expect(statusOf(plan, 'a2')).toMatchObject({ state: 'Cancelled', reason: 'Duplicate', message: 'duplicate of task a1' });
  });

  it('cancels a waiting task whose cancel was requested, but lets a Running one finish', () => {
    const ann = { [CANCEL_REQUESTED_ANNOTATION]: iso(NOW) };
    const plan = dispatch(snap([task('q', { target: 'x', annotations: ann }), task('r', { target: 'y', annotations: ann, status: running() })]), NOW);
    expect(statusOf(plan, 'q')).toMatchObject({ state: 'Cancelled', reason: 'Cancelled' });
    expect(statusOf(plan, 'r')).toBeUndefined();
  });

  it('produces no writes when run again on its own result', () => {
    const tasks = [
      task('r1', { payload: { n: 1 } }), task('r2', { createdSec: 1, payload: { n: 2 } }), task('u', { type: 'update', createdSec: 2 }),
      task('w', { target: 'web', dependsOn: ['r1'] }), task('z', { target: 'zz', node: 'node-gone' }),
    ];
    const first = dispatch(snap(tasks), NOW);
    expect(first.statusUpdates.length).toBe(5);
    expect(dispatch(snap(applied(tasks, first)), NOW + 5000).statusUpdates).toEqual([]);
  });
});

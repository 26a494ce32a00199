// The task dispatcher as the manager runs it: a real :memory: store, the controller manager, and
// assertions on Task status as `drover get tasks` would show it.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { startControllerManager } from '../../controllers/index.ts';
import type { KubeObject } from '../../core/types.ts';
import type { TaskStatus } from '../../core/kinds.generated.ts';

const V = 'drover.dev/v1alpha1';
const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', task: 'tasks.drover.dev', event: 'events.drover.dev' };

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let store: SqliteStore;
let stop: () => Promise<void>;

const restart = (name: string, requestedAt: string): KubeObject => ({
  apiVersion: V, kind: 'Task', metadata: { name, namespace: 'c1' },
  spec: { type: 'restart', target: { kind: 'Container', name: 'api' }, nodeName: 'node-a', payload: { restartedAt: requestedAt } },
});
const statusOf = async (name: string) => (await store.get(K.task, 'c1', name)).status as TaskStatus | undefined;
const states = async () => Object.fromEntries(await Promise.all(['r1', 'r2'].map(async (n) => [n, await statusOf(n)] as const)));

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  await store.create(K.cluster, { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1' }, spec: {} });
  await store.create(K.node, {
    apiVersion: V, kind: 'Node', metadata: { name: 'node-a', namespace: 'c1' }, spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }] },
  });
  ({ stop } = await startControllerManager({ store, registry: loadRegistry(), logger: nullLogger() }));
});

afterEach(async () => {
  await stop();
  await store.close();
});

describe('task dispatcher controller', () => {
  it('runs one of two restarts requested at once, queues the other on Conflict, and releases it when the first completes', async () => {
    await Promise.all([store.create(K.task, restart('r1', 't1')), store.create(K.task, restart('r2', 't2'))]);
    const first = await eventually(async () => {
      const s = await states();
      return s.r1?.state && s.r2?.state && s;
    }, 'both restarts to be dispatched');
    const [runner, waiter] = first.r1?.state === 'Assigned' ? ['r1', 'r2'] : ['r2', 'r1'];
    expect(first[runner]).toMatchObject({ state: 'Assigned', message: 'assigned to node node-a' });
    expect(first[waiter]).toMatchObject({ state: 'Queued', waitReason: 'Conflict', message: 'waiting: restart of api in progress' });

    // the node agent claims, runs and completes the first one
    const t = await store.get(K.task, 'c1', runner);
    const claimed = await store.update(K.task, { ...t, status: { state: 'Running', attempts: 1, leaseHolder: 'node-a', startedAt: new Date().toISOString(), leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() } });
    await new Promise((r) => setTimeout(r, 100));
    expect((await statusOf(waiter))?.state).toBe('Queued'); // still held back while the first runs
    await store.update(K.task, { ...claimed, status: { ...claimed.status, state: 'Completed', completedAt: new Date().toISOString() } });

    const released = await eventually(async () => {
      const s = await statusOf(waiter);
      return s?.state === 'Assigned' && s;
    }, 'the queued restart to be assigned');
    expect(released.waitReason).toBeUndefined();
    expect((await statusOf(runner))?.state).toBe('Completed');
  });

  it('the Cluster\'s taskPolicy.maxConcurrentPerNode bounds what one node works on at once, and raising it releases the rest', async () => {
    const cl = await store.get(K.cluster, undefined, 'c1');
    await store.update(K.cluster, { ...cl, spec: { ...cl.spec, taskPolicy: { maxConcurrentPerNode: 2 } } });
    const names = ['d1', 'd2', 'd3', 'd4', 'd5'];
    for (const n of names) {
      await store.create(K.task, { apiVersion: V, kind: 'Task', metadata: { name: n, namespace: 'c1' }, spec: { type: 'deploy', target: { kind: 'Container', name: `web-${n}` }, nodeName: 'node-a' } });
    }
    const count = async () => {
      const all = await Promise.all(names.map(statusOf));
      return { assigned: all.filter((x) => x?.state === 'Assigned').length, busy: all.filter((x) => x?.state === 'Queued' && x.waitReason === 'NodeBusy').length };
    };
    expect(await eventually(async () => { const c = await count(); return c.assigned + c.busy === 5 && c; }, 'all five dispatched')).toEqual({ assigned: 2, busy: 3 });
    const again = await store.get(K.cluster, undefined, 'c1');
    await store.update(K.cluster, { ...again, spec: { ...again.spec, taskPolicy: { maxConcurrentPerNode: 8 } } });
    await eventually(async () => (await count()).assigned === 5, 'all five assigned once the limit is raised');
  });

  it('puts a task whose agent died mid-run (lease expired) back to work, keeping its attempt count, with a Warning event', async () => {
    await store.create(K.task, {
      ...restart('r1', 't1'),
      status: { state: 'Running', attempts: 1, leaseHolder: 'node-a', startedAt: new Date(Date.now() - 40_000).toISOString(), leaseExpiresAt: new Date(Date.now() - 10_000).toISOString() },
    });
    const s = await eventually(async () => {
      const st = await statusOf('r1');
      return st?.state === 'Assigned' && st;
    }, 'the task to be re-assigned');
    expect(s).toMatchObject({ attempts: 1 });
    const ev = await eventually(async () => (await store.list(K.event, { namespace: 'c1' })).items.find((e) => e.reason === 'TaskLeaseExpired'), 'a TaskLeaseExpired event');
    expect(ev).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Task', name: 'r1' }, message: 'lease of node-a expired; requeued (attempt 1 of 3 used)' });
  });
});

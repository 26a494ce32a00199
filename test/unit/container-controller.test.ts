// Harness: a real :memory: SQLite store, the CRD registry, and the container + node lifecycle
// controllers on shared informers. Assertions poll the store, as `drover get` would.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { isApiError } from '../../core/errors.ts';
import type { Condition, KubeObject } from '../../core/types.ts';
import { createControllerManager, type ControllerManager } from '../../controllers/controller-manager.ts';
import { storeListerWatcher } from '../../controllers/store-lister-watcher.ts';
import { createContainerController, unschedulableRetryMs } from '../../controllers/container-controller.ts';
import { createNodeLifecycleController } from '../../controllers/node-lifecycle-controller.ts';
import { CONTAINER_FINALIZER } from '../../reconcilers/container-reconciler.ts';

const V = 'drover.dev/v1alpha1';
const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', task: 'tasks.drover.dev', container: 'containers.drover.dev', event: 'events.drover.dev' };
// The manager "started" an hour ago, so fencing deadlines are measured from the heartbeats alone.
const STARTED = Date.now() - 3_600_000;

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await new Promise((r) => setTimeout(r, 20));
  }
}

let store: SqliteStore;
let manager: ControllerManager;

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  const registry = loadRegistry();
  const logger = nullLogger();
  manager = createControllerManager({ listerWatcherFor: (key) => storeListerWatcher(store, key), logger });
  manager.add(createNodeLifecycleController({ informers: manager, store, registry, logger, managerStartedAt: STARTED }));
  manager.add(createContainerController({ informers: manager, store, registry, logger, managerStartedAt: STARTED }));
  await store.create(K.cluster, { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1' }, spec: { failurePolicy: { heartbeatInterval: '2s', gracePeriod: '10s' } } });
  await manager.start();
});

afterEach(async () => {
  await manager.stop();
  await store.close();
});

async function addNode(name: string, heartbeatAgoMs: number, ready: Condition['status'] = 'True'): Promise<void> {
  await store.create(K.node, {
    apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1' }, spec: { labels: {} },
    status: {
      allocatable: { cpu: '4', memory: '8Gi', containers: 10 },
      lastHeartbeatTime: new Date(Date.now() - heartbeatAgoMs).toISOString(),
      conditions: [{ type: 'Ready', status: ready, reason: 'AgentReady' }],
    },
  });
}
const container = (name: string, spec: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1' }, spec: { command: ['sleep', '1000'], state: 'Running', ...spec } });
const tasksOf = async (name: string) => (await store.list(K.task, { namespace: 'c1', labelSelector: `drover.dev/container=${name}` })).items;
const eventsFor = async (name: string) => (await store.list(K.event, { namespace: 'c1' })).items.filter((e) => (e.involvedObject as { name: string }).name === name);
const typeOf = (t: KubeObject) => (t.spec as { type: string }).type;

describe('container controller', () => {
  it('binds a Container to the Ready Node and creates exactly one deploy Task for it', async () => {
    await addNode('node-a', 500);
    await addNode('node-b', 500, 'False');
    await store.create(K.container, container('web'));

    const c = await eventually(async () => {
      const o = await store.get(K.container, 'c1', 'web');
      return o.status?.nodeName ? o : undefined;
    }, 'binding');
    expect(c.status).toMatchObject({ nodeName: 'node-a', phase: 'Scheduled' });
    expect(c.metadata.finalizers).toEqual([CONTAINER_FINALIZER]);

    const [deploy] = await eventually(async () => { const t = await tasksOf('web'); return t.length > 0 && t; }, 'deploy task');
    expect(deploy.metadata.name).toMatch(/^web-deploy-[a-z0-9]{5}$/);
    expect(deploy.metadata.labels).toEqual({ 'drover.dev/container': 'web', 'drover.dev/node': 'node-a' });
    expect(deploy.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Container', name: 'web', uid: c.metadata.uid })]);
    expect(deploy.spec).toMatchObject({ type: 'deploy', nodeName: 'node-a', target: { kind: 'Container', name: 'web', uid: c.metadata.uid, generation: 1 } });

    // Let several more reconciles happen (status writes, task events): still one task.
    await store.update(K.container, { ...(await store.get(K.container, 'c1', 'web')), metadata: { ...c.metadata, resourceVersion: undefined, labels: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await tasksOf('web')).map(typeOf)).toEqual(['deploy']);
    expect((await eventsFor('web')).map((e) => e.reason)).toContain('Scheduled');
  });

  it('an unschedulable container is retried 10 s after it became so, then ever less often, at most once a minute', () => {
    expect([0, 5_000, 10_000, 25_000, 59_000, 3_600_000].map(unschedulableRetryMs)).toEqual([10_000, 10_000, 10_000, 25_000, 59_000, 60_000]);
  });

  it('a container with no feasible node says why', async () => {
    await addNode('node-a', 500);
    await store.create(K.container, container('big', { resources: { requests: { memory: '64Gi' } } }));
    const c = await eventually(async () => {
      const o = await store.get(K.container, 'c1', 'big');
      return o.status?.reason === 'Unschedulable' && o;
    }, 'unschedulable status');
    expect(c.status).toMatchObject({ phase: 'Pending', message: '0/1 nodes: 1 insufficient memory' });
    expect(await tasksOf('big')).toEqual([]);
  });

  it('deleting a deployed container sends a delete Task and removes the finalizer once it completed', async () => {
    await addNode('node-a', 500);
    await store.create(K.container, container('web'));
    const [deploy] = await eventually(async () => { const t = await tasksOf('web'); return t.length > 0 && t; }, 'deploy task');
    await store.update(K.task, { ...deploy, status: { state: 'Completed', attempts: 1 } });

    await store.delete(K.container, 'c1', 'web');
    const del = await eventually(async () => (await tasksOf('web')).find((t) => typeOf(t) === 'delete'), 'delete task');
    expect(del.metadata.ownerReferences).toBeUndefined();
    expect((await store.get(K.container, 'c1', 'web')).metadata.deletionTimestamp).toBeDefined();

    await store.update(K.task, { ...del, status: { state: 'Completed', attempts: 1 } });
    await eventually(async () => {
      try {
        await store.get(K.container, 'c1', 'web');
        return false;
      } catch (err) {
        return isApiError(err, 404);
      }
    }, 'container gone');
  });
});

describe('node lifecycle + container controllers together', () => {
  it('a silent node becomes NotReady and its unpinned container moves; the pinned one stays', async () => {
    await addNode('node-a', 500);
    await store.create(K.container, container('mover', { nodeSelector: {} }));
    await store.create(K.container, container('pinned', { nodeName: 'node-a' }));
    await eventually(async () => (await store.get(K.container, 'c1', 'mover')).status?.nodeName === 'node-a', 'mover bound');
    await eventually(async () => (await store.get(K.container, 'c1', 'pinned')).status?.nodeName === 'node-a', 'pinned bound');

    // node-a goes silent long ago (past grace + termination grace + margin); node-b joins.
    const a = await store.get(K.node, 'c1', 'node-a');
    await store.update(K.node, { ...a, status: { ...a.status, lastHeartbeatTime: new Date(Date.now() - 60_000).toISOString() } });
    await addNode('node-b', 500);

    const lost = await eventually(async () => {
      const n = await store.get(K.node, 'c1', 'node-a');
      const ready = (n.status?.conditions as Condition[]).find((x) => x.type === 'Ready');
      return ready?.status === 'Unknown' && ready;
    }, 'node-a NotReady');
    expect(lost).toMatchObject({ reason: 'NodeStatusUnknown', message: expect.stringMatching(/^no heartbeat for 1m(\ds)? \(grace period 10s\)$/) });
    await eventually(async () => (await eventsFor('node-a')).some((e) => e.reason === 'NodeNotReady'), 'NodeNotReady event');

    await eventually(async () => (await store.get(K.container, 'c1', 'mover')).status?.nodeName === 'node-b', 'mover re-placed on node-b');
    const moved = await eventually(async () => (await eventsFor('mover')).find((e) => e.reason === 'Rescheduled'), 'Rescheduled event');
    expect(moved.message).toBe('moved from node node-a (NotReady) to node-b');
    await eventually(async () => (await tasksOf('mover')).some((t) => typeOf(t) === 'deploy' && t.spec?.nodeName === 'node-b'), 'deploy on node-b');
    expect((await store.get(K.container, 'c1', 'pinned')).status?.nodeName).toBe('node-a');
  });
});

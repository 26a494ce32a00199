// Harness: a real :memory: SQLite store, the CRD registry, and the controller manager as the
// manager runs it. Assertions poll the store, as a user running `drover get` would.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import type { Store } from '../../core/store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { isApiError } from '../../core/errors.ts';
import { startControllerManager } from '../../controllers/index.ts';
import type { Condition, KubeObject, OwnerReference } from '../../core/types.ts';

const V = 'drover.dev/v1alpha1';
const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', ad: 'agentdeployments.drover.dev', agent: 'agents.drover.dev', task: 'tasks.drover.dev', container: 'containers.drover.dev', event: 'events.drover.dev' };

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
let stop: () => Promise<void>;
/** Every delete the controllers asked the store for, as `resource ns/name`. */
let controllerDeletes: string[];

async function exists(key: string, ns: string | undefined, name: string): Promise<boolean> {
  try {
    await store.get(key, ns, name);
    return true;
  } catch (err) {
    if (isApiError(err, 404)) return false;
    throw err;
  }
}
const ownedBy = (o: KubeObject): OwnerReference => ({ apiVersion: V, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid! });
const mk = (kind: string, name: string, ns?: string, extra: Partial<KubeObject> = {}, meta = {}): KubeObject =>
  ({ apiVersion: V, kind, metadata: { name, namespace: ns, ...meta }, spec: {}, ...extra });
const readyOf = (c: KubeObject) => (c.status?.conditions as Condition[] | undefined)?.find((x) => x.type === 'Ready');

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  controllerDeletes = [];
  const recordingDelete: Store['delete'] = (key, ns, name, opts) => {
    controllerDeletes.push(`${key} ${ns}/${name}`);
    return store.delete(key, ns, name, opts);
  };
  const recording = new Proxy(store, {
    get: (target, prop) => {
      if (prop === 'delete') return recordingDelete;
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  ({ stop } = await startControllerManager({ store: recording, registry: loadRegistry(), logger: nullLogger() }));
});

afterEach(async () => {
  await stop();
  await store.close();
});

describe('cluster controller', () => {
  it('reports NoNodes, then Ready with counts once a ready Node joins, recording both transitions', async () => {
    await store.create(K.cluster, mk('Cluster', 'c1'));
    let c = await eventually(async () => {
      const o = await store.get(K.cluster, undefined, 'c1');
      return readyOf(o) && o;
    }, 'initial cluster status');
    expect(readyOf(c)).toMatchObject({ status: 'False', reason: 'NoNodes' });
    expect(c.status).toMatchObject({ nodes: 0, readyNodes: 0, observedGeneration: 1 });

    await store.create(K.node, mk('Node', 'n1', 'c1', {
      status: { allocatable: { cpu: '4', memory: '8Gi', containers: 10, agents: 40 }, conditions: [{ type: 'Ready', status: 'True' }] },
    }));
    await store.create(K.container, mk('Container', 'web', 'c1', { spec: { image: 'x', nodeName: 'n1', resources: { requests: { cpu: '500m', memory: '256Mi' } } }, status: { phase: 'Running' } }));
    c = await eventually(async () => {
      const o = await store.get(K.cluster, undefined, 'c1');
      return readyOf(o)?.status === 'True' && o.status?.containers === 1 && o;
    }, 'cluster Ready=True');
    expect(c.status).toMatchObject({
      nodes: 1, readyNodes: 1, containers: 1, runningContainers: 1,
      capacity: { cpu: '4', memory: '8Gi', containers: 10, agents: 40 },
      allocated: { cpu: '500m', memory: '256Mi', containers: 1 },
    });

    const events = await eventually(async () => {
      const { items } = await store.list(K.event, { namespace: 'c1' });
      return items.length === 2 && items;
    }, 'two cluster events');
    expect(events.map((e) => `${e.type} ${e.reason}`).sort()).toEqual(['Normal ClusterReady', 'Warning ClusterNotReady']);
    expect(events[0].involvedObject).toMatchObject({ kind: 'Cluster', name: 'c1', uid: c.metadata.uid });
  });
});

describe('garbage collector', () => {
  it('deletes a chain of dependents (AgentDeployment → Agent → Task) when the root goes', async () => {
    await store.create(K.cluster, mk('Cluster', 'c1'));
    const ad = await store.create(K.ad, mk('AgentDeployment', 'trading', 'c1'));
    const agent = await store.create(K.agent, mk('Agent', 'trading-1', 'c1', {}, { ownerReferences: [ownedBy(ad)] }));
    await store.create(K.task, mk('Task', 'start-trading-1', 'c1', {}, { ownerReferences: [ownedBy(agent)] }));
    const bystander = await store.create(K.agent, mk('Agent', 'other', 'c1'));

    // Give the GC a moment with live owners: nothing may be deleted.
    await new Promise((r) => setTimeout(r, 100));
    expect(await exists(K.task, 'c1', 'start-trading-1')).toBe(true);

    await store.delete(K.ad, 'c1', 'trading');
    await eventually(async () => !(await exists(K.agent, 'c1', 'trading-1')) && !(await exists(K.task, 'c1', 'start-trading-1')), 'chain deleted');
    expect((await store.get(K.agent, 'c1', 'other')).metadata.uid).toBe(bystander.metadata.uid);
  });

  it('deletes an object whose owner never existed, and drops only the dangling reference when another owner lives', async () => {
    await store.create(K.cluster, mk('Cluster', 'c1'));
    const ad = await store.create(K.ad, mk('AgentDeployment', 'live', 'c1'));
    const ghost: OwnerReference = { apiVersion: V, kind: 'AgentDeployment', name: 'gone', uid: 'no-such-uid' };
    await store.create(K.agent, mk('Agent', 'orphan', 'c1', {}, { ownerReferences: [ghost] }));
    await store.create(K.agent, mk('Agent', 'shared', 'c1', {}, { ownerReferences: [ghost, ownedBy(ad)] }));
    await eventually(async () => !(await exists(K.agent, 'c1', 'orphan')), 'orphan deleted');
    const shared = await eventually(async () => {
      const o = await store.get(K.agent, 'c1', 'shared');
      return o.metadata.ownerReferences?.length === 1 && o;
    }, 'dangling reference dropped');
    expect(shared.metadata.ownerReferences![0].uid).toBe(ad.metadata.uid);
  });

  it('treats an owner recreated under the same name (new uid) as gone', async () => {
    await store.create(K.cluster, mk('Cluster', 'c1'));
    const first = await store.create(K.ad, mk('AgentDeployment', 'trading', 'c1'));
    await store.create(K.agent, mk('Agent', 'trading-1', 'c1', {}, { ownerReferences: [ownedBy(first)] }));
    await store.delete(K.ad, 'c1', 'trading');
    await store.create(K.ad, mk('AgentDeployment', 'trading', 'c1'));
    await eventually(async () => !(await exists(K.agent, 'c1', 'trading-1')), 'agent of the old incarnation deleted');
  });

  it('empties the namespace of a deleted Cluster but leaves objects with pending finalizers alone', async () => {
    await store.create(K.cluster, mk('Cluster', 'c1'));
    await store.create(K.cluster, mk('Cluster', 'c2'));
    await store.create(K.node, mk('Node', 'n1', 'c1'));
    await store.create(K.container, mk('Container', 'web', 'c1', { spec: { image: 'x' } }));
    await store.create(K.container, mk('Container', 'held', 'c1', { spec: { image: 'x' } }, { finalizers: ['drover.dev/runtime-cleanup'] }));
    await store.delete(K.container, 'c1', 'held'); // now terminating, waiting for its finalizer
    await store.create(K.node, mk('Node', 'n1', 'c2'));

    await store.delete(K.cluster, undefined, 'c1');
    await eventually(async () => !(await exists(K.node, 'c1', 'n1')) && !(await exists(K.container, 'c1', 'web')), 'namespace c1 emptied');
    const held = await store.get(K.container, 'c1', 'held');
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.finalizers).toEqual(['drover.dev/runtime-cleanup']);
    expect(controllerDeletes).toContain(`${K.container} c1/web`);
    expect(controllerDeletes).not.toContain(`${K.container} c1/held`);
    expect(await exists(K.node, 'c2', 'n1')).toBe(true);
  });
});

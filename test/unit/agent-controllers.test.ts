// Harness: a real :memory: store, the CRD registry, the AgentDeployment and agent scheduling
// controllers on shared informers. Assertions poll the store, as `drover get` would.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import type { KubeObject } from '../../core/types.ts';
import { createControllerManager, type ControllerManager } from '../../controllers/controller-manager.ts';
import { storeListerWatcher } from '../../controllers/store-lister-watcher.ts';
import { createAgentDeploymentController } from '../../controllers/agent-deployment-controller.ts';
import { createAgentSchedulingController } from '../../controllers/agent-scheduling-controller.ts';

const V = 'drover.dev/v1alpha1';
const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', container: 'containers.drover.dev', agent: 'agents.drover.dev', ad: 'agentdeployments.drover.dev', event: 'events.drover.dev' };
const STARTED = Date.now() - 3_600_000;

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
let manager: ControllerManager;

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  const registry = loadRegistry();
  const logger = nullLogger();
  manager = createControllerManager({ listerWatcherFor: (key) => storeListerWatcher(store, key), logger });
  manager.add(createAgentDeploymentController({ informers: manager, store, registry, logger }));
  manager.add(createAgentSchedulingController({ informers: manager, store, registry, logger, managerStartedAt: STARTED }));
  await store.create(K.cluster, { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1' }, spec: { failurePolicy: { heartbeatInterval: '2s', gracePeriod: '10s' } } });
  await manager.start();
});

afterEach(async () => {
  await manager.stop();
  await store.close();
});

async function addNode(name: string, heartbeatAgoMs = 500, ready = 'True'): Promise<void> {
  await store.create(K.node, {
    apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1' }, spec: {},
    status: { lastHeartbeatTime: new Date(Date.now() - heartbeatAgoMs).toISOString(), conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'AgentReady' : 'NodeStatusUnknown' }] },
  });
}
async function addHost(name: string, node: string, agents = 4, capabilities: string[] = []): Promise<void> {
  const c = await store.create(K.container, { apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1' }, spec: { command: ['sleep', '1'], agentHost: { capabilities, capacity: { agents } } } });
  await store.update(K.container, { ...c, status: { phase: 'Running', nodeName: node } });
}
const deployment = (replicas: number, placement: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: V, kind: 'AgentDeployment', metadata: { name: 'trading', namespace: 'c1' }, spec: { agentType: 'trading', replicas, template: { command: ['node', 'a.js'] }, placement } });
const agents = async () => (await store.list(K.agent, { namespace: 'c1' })).items.filter((a) => !a.metadata.deletionTimestamp);
const bound = async (n: number) => { const a = await agents(); return a.length === n && a.every((x) => x.status?.nodeName) && a; };
const events = async (reason: string) => (await store.list(K.event, { namespace: 'c1' })).items.filter((e) => e.reason === reason);

describe('AgentDeployment + scheduling controllers', () => {
  it('creates the replicas, binds each to an agent host and reports status', async () => {
    await addNode('node-a');
    await addNode('node-b');
    await addHost('h1', 'node-a');
    await addHost('h2', 'node-b');
    await store.create(K.ad, deployment(4));
    const list = await eventually(() => bound(4), '4 bound agents');
    for (const a of list) {
      expect(a.metadata.name).toMatch(/^trading-[a-z0-9]{5}$/);
      expect(a.status).toMatchObject({ phase: 'Scheduled', containerName: a.spec?.containerName });
      expect(a.status?.nodeName).toBe(a.spec?.containerName === 'h1' ? 'node-a' : 'node-b');
    }
    const d = await eventually(async () => { const o = await store.get(K.ad, 'c1', 'trading'); return o.status?.replicas === 4 && o; }, 'status');
    expect(d.status).toMatchObject({ replicas: 4, readyReplicas: 0, selector: 'drover.dev/deployment=trading', observedGeneration: 1, unplacedReplicas: 0 });
    expect((await events('Scheduled')).length).toBe(4);
    expect((await events('ScalingUp'))[0]?.message).toBe('created 4 agents (4 desired)');

    // Scale down to 1: exactly 3 go, the deployment keeps one bound agent.
    const cur = await store.get(K.ad, 'c1', 'trading');
    await store.update(K.ad, { ...cur, spec: { ...cur.spec, replicas: 1 } });
    await eventually(() => bound(1), 'scaled down to 1');
    await new Promise((r) => setTimeout(r, 200));
    expect(await agents()).toHaveLength(1);
  });

  it('an unplaceable replica stays Pending with the reason, on the agent and the deployment', async () => {
    await addNode('node-a');
    await addHost('h1', 'node-a');
    await store.create(K.ad, deployment(1, { requiredCapabilities: ['gpu_compute'] }));
    const [a] = await eventually(async () => { const l = await agents(); return l.length === 1 && l[0].status?.reason === 'Unschedulable' && l; }, 'unschedulable');
    expect(a.status).toMatchObject({ phase: 'Pending', message: '0/1 containers: 1 lack capability gpu_compute' });
    const d = await eventually<KubeObject>(async () => { const o = await store.get(K.ad, 'c1', 'trading'); return o.status?.placementMessage ? o : undefined; }, 'placement message');
    expect(d.status?.placementMessage).toBe('0/1 containers: 1 lack capability gpu_compute');
    expect((await events('FailedScheduling')).length).toBe(1);
  });

  it('agents on a node lost past the fencing deadline move to another container, same Agent, with a Migrated event', async () => {
    await addNode('node-a');
    await addHost('h1', 'node-a');
    await store.create(K.ad, deployment(2));
    const before = await eventually(() => bound(2), 'bound on node-a');
    await addNode('node-b');
    await addHost('h2', 'node-b');
    const n = await store.get(K.node, 'c1', 'node-a');
    await store.update(K.node, { ...n, status: { lastHeartbeatTime: new Date(Date.now() - 60_000).toISOString(), conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } });
    const after = await eventually(async () => { const l = await bound(2); return l && l.every((a) => a.spec?.containerName === 'h2') && l; }, 'moved to h2');
    expect(after.map((a) => a.metadata.uid).sort()).toEqual(before.map((a) => a.metadata.uid).sort());
    const migrated = await eventually(async () => { const e = await events('Migrated'); return e.length === 2 && e; }, 'Migrated events');
    expect(migrated[0].message).toBe('moved from container h1 on node-a (node NotReady) to h2 on node-b');
  });

  it('does not move agents off a silent node before the fencing deadline', async () => {
    await addNode('node-a');
    await addHost('h1', 'node-a');
    await store.create(K.ad, deployment(1));
    await eventually(() => bound(1), 'bound');
    await addNode('node-b');
    await addHost('h2', 'node-b');
    const n = await store.get(K.node, 'c1', 'node-a');
    // Silent for 12 s: past grace (10 s) but not past grace + 10 s + 2 s.
    await store.update(K.node, { ...n, status: { lastHeartbeatTime: new Date(Date.now() - 12_000).toISOString(), conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } });
    await new Promise((r) => setTimeout(r, 500));
    expect((await agents()).map((a) => a.spec?.containerName)).toEqual(['h1']);
  });
});

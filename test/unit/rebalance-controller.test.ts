// Harness: a real :memory: SQLite store, shared informers and the rebalance controller on a FakeClock.
// Replacement Agents are set Running by hand, as the node agent would.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { FakeClock } from '../../core/clock.ts';
import type { KubeObject } from '../../core/types.ts';
import { createControllerManager, type ControllerManager } from '../../controllers/controller-manager.ts';
import { storeListerWatcher } from '../../controllers/store-lister-watcher.ts';
import { createEventRecorder } from '../../controllers/event-recorder.ts';
import { createRebalanceController } from '../../controllers/rebalance-controller.ts';
import { NOW, NS, agentsOn, cluster, deployment, host, node } from './rebalance-fixtures.ts';

const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', container: 'containers.drover.dev', agent: 'agents.drover.dev', deployment: 'agentdeployments.drover.dev', event: 'events.drover.dev' };

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const settle = () => new Promise((r) => setTimeout(r, 150));

let store: SqliteStore;
let manager: ControllerManager;
let clock: FakeClock;

async function start(policy: Record<string, unknown>, dep: Record<string, unknown>): Promise<void> {
  await store.create(K.cluster, cluster(policy));
  for (const n of ['node-a', 'node-b', 'node-c']) await store.create(K.node, node(n));
  for (const [c, n] of [['c1', 'node-a'], ['c2', 'node-b'], ['c3', 'node-c']]) await store.create(K.container, host(c, n));
  await store.create(K.deployment, deployment('trading', dep));
  for (const a of [...agentsOn('c1', 4), ...agentsOn('c2', 4)]) await store.create(K.agent, a);
  const registry = loadRegistry();
  const logger = nullLogger();
  manager = createControllerManager({ listerWatcherFor: (key) => storeListerWatcher(store, key), logger, clock });
  const recorder = createEventRecorder({ store, component: 'rebalancer', logger, clock, resource: K.event });
  manager.add(createRebalanceController({ informers: manager, store, registry, recorder, logger, clock }));
  await manager.start();
}

const agents = async () => (await store.list(K.agent, { namespace: NS })).items;
const replacements = async () => (await agents()).filter((a) => a.metadata.annotations?.['drover.dev/replaces']);
const events = async (reason: string) => (await store.list(K.event, { namespace: NS })).items.filter((e) => e.reason === reason);
async function setRunning(a: KubeObject): Promise<void> {
  const cur = await store.get(K.agent, NS, a.metadata.name);
  await store.update(K.agent, { ...cur, status: { phase: 'Running', startedAt: new Date(clock.now()).toISOString() } });
}

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  clock = new FakeClock(NOW);
});

afterEach(async () => {
  await manager?.stop();
  await store.close();
});

describe('rebalance controller', () => {
  it('starts a round with a replacement bound to the new container, and deletes the old agent once it is Running', async () => {
    await start({ enabled: true }, { disruption: { maxUnavailable: 1 } });
    const [repl] = await eventually(async () => ((await replacements()).length ? replacements() : undefined), 'a replacement');
    expect(repl.metadata.name).toMatch(/^trading-[a-z0-9]{5}$/);
    expect(repl.metadata.annotations).toMatchObject({
      'drover.dev/replaces': 'c1-a0',
      'drover.dev/last-moved': new Date(NOW).toISOString(),
      'drover.dev/move-reason': 'from c1 (node-a) to c3 (node-c): load 1 → 0.75',
    });
    expect(repl.metadata.labels).toEqual({ 'drover.dev/deployment': 'trading', 'drover.dev/agent-type': 'trading' });
    expect(repl.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'AgentDeployment', name: 'trading', controller: true })]);
    expect(repl.spec).toMatchObject({ agentType: 'trading', containerName: 'c3' });
    expect((await events('RebalanceRound'))[0]?.message).toMatch(/1 move\(s\) started/);

    // Budget 1: while the move is in flight nothing else starts, even though 4/4/1 is still unbalanced.
    await clock.advanceAsync(10_000);
    await settle();
    expect(await replacements()).toHaveLength(1);
    expect((await agents()).map((a) => a.metadata.name)).toContain('c1-a0');

    await setRunning(repl);
    await eventually(async () => !(await agents()).some((a) => a.metadata.name === 'c1-a0'), 'old agent deleted');
    const [ev] = await eventually(() => events('Rebalanced').then((e) => (e.length ? e : undefined)), 'Rebalanced event');
    expect(ev.message).toBe('moved c1-a0 from c1 (node-a) to c3 (node-c): load 1 → 0.75');
    expect((ev.involvedObject as { kind: string; name: string })).toMatchObject({ kind: 'AgentDeployment', name: 'trading' });
    expect(await agents()).toHaveLength(8);
  });

  it('a round cut short by the disruption budget continues once its move is done, one move in flight at a time', async () => {
    await start({ enabled: true, interval: '5m' }, { disruption: { maxUnavailable: 1 } });
    const [first] = await eventually(async () => ((await replacements()).length ? replacements() : undefined), 'first replacement');
    await settle();
    expect(await replacements()).toHaveLength(1); // the budget: one at a time, even though more would help
    await setRunning(first);
    await eventually(async () => !(await agents()).some((a) => a.metadata.name === 'c1-a0'), 'first old agent deleted');
    // no need to wait for the 5 minute interval: the imbalance is still above the threshold
    const second = await eventually(async () => (await replacements()).find((a) => a.metadata.annotations?.['drover.dev/replaces'] !== 'c1-a0'), 'second replacement');
    expect(second.metadata.annotations?.['drover.dev/replaces']).toBe('c2-a0');
    expect(second.spec?.containerName).toBe('c3');
  });

  it('rolls a move back when the replacement is not Running within the migration timeout', async () => {
    await start({ enabled: true }, { disruption: { maxUnavailable: 1 }, migration: { timeout: '30s' } });
    const [repl] = await eventually(async () => ((await replacements()).length ? replacements() : undefined), 'a replacement');
    await clock.advanceAsync(31_000);
    await eventually(async () => !(await agents()).some((a) => a.metadata.name === repl.metadata.name), 'replacement deleted');
    expect((await agents()).map((a) => a.metadata.name)).toContain('c1-a0');
    const [ev] = await eventually(() => events('MigrationFailed').then((e) => (e.length ? e : undefined)), 'MigrationFailed event');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/not Running within 30s.*c1-a0 stays on c1/);
  });

  it('starts up to maxMigrationsPerRound moves at once when the budget allows', async () => {
    await start({ enabled: true, maxMigrationsPerRound: 5, threshold: 0 }, { disruption: { maxUnavailable: 5 } });
    const list = await eventually(async () => ((await replacements()).length >= 2 ? replacements() : undefined), 'replacements');
    await settle();
    expect((await replacements()).map((a) => a.metadata.annotations?.['drover.dev/replaces']).sort()).toEqual(['c1-a0', 'c2-a0']);
    expect(list.every((a) => a.spec?.containerName === 'c3')).toBe(true);
  });

  it('does nothing while disabled, and runs one round when the rebalance annotation asks for it', async () => {
    await start({ enabled: false }, { disruption: { maxUnavailable: 1 } });
    await settle();
    expect(await replacements()).toHaveLength(0);
    const c = await store.get(K.cluster, undefined, NS);
    await store.update(K.cluster, { ...c, metadata: { ...c.metadata, annotations: { 'drover.dev/rebalance-requested': new Date(NOW).toISOString() } } });
    await eventually(async () => (await replacements()).length === 1, 'requested round');
    expect((await events('RebalanceRound'))[0]?.message).toMatch(/^rebalance round \(requested\)/);
  });
});

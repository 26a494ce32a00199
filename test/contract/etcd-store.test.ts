// What only the etcd store shows (the shared contract runs in store-contract.test.ts): the key layout,
// fenced writes for leader election, several stores (managers) on one etcd, watches replayed by etcd
// from before the in-memory window, and a three-member cluster losing a member.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { openEtcdStore, type EtcdStore } from '../../store/index.ts';
import { ApiError, NotLeader } from '../../core/errors.ts';
import type { KubeObject, WatchEvent } from '../../core/types.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

const AD = 'agentdeployments.drover.dev';
const CL = 'clusters.drover.dev';
const ad = (name: string, extra: Partial<KubeObject['metadata']> = {}, replicas = 1): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name, namespace: 'c1', ...extra }, spec: { agentType: 't', replicas },
});

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('etcd store on one member', () => {
  let etcd: EtcdCluster;
  let n = 0;
  const stores: EtcdStore[] = [];
  const open = async (o: { prefix?: string; watchCacheSize?: number } = {}) => {
    const s = await openEtcdStore({ endpoints: etcd.endpoints, prefix: o.prefix ?? `/etcd-specific-${++n}/`, compactIntervalMs: 0, watchCacheSize: o.watchCacheSize });
    stores.push(s);
    return s;
  };
  beforeAll(async () => { etcd = await startEtcdCluster({ members: 1, name: 'specific' }); }, 30_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await etcd.stop();
  });

  it('keeps each object under <prefix><group>/<plural>/<namespace>/<name>, its resourceVersion the mod revision', async () => {
    const s = await open({ prefix: '/layout/' });
    const a = await s.create(AD, ad('web'));
    const c = await s.create(CL, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'customer1' }, spec: {} });
    const kvs = (await s.client.getAll().prefix('/layout/').exec()).kvs;
    const byKey = new Map(kvs.map((kv) => [kv.key.toString(), kv]));
    expect([...byKey.keys()].sort()).toEqual(['/layout/drover.dev/agentdeployments/c1/web', '/layout/drover.dev/clusters/customer1']);
    const web = byKey.get('/layout/drover.dev/agentdeployments/c1/web')!;
    expect(String(web.mod_revision)).toBe(a.metadata.resourceVersion);
    const stored = JSON.parse(web.value.toString());
    expect(stored.metadata.resourceVersion).toBeUndefined();
    expect(stored.metadata.uid).toBe(a.metadata.uid);
    expect(String(byKey.get('/layout/drover.dev/clusters/customer1')!.mod_revision)).toBe(c.metadata.resourceVersion);
  });

  it('refuses names with "/" (they would escape their key)', async () => {
    const s = await open();
    expect(await caught(s.create(AD, ad('a/b')))).toMatchObject({ code: 422 });
  });

  describe('fenced writes', () => {
    it('write while the leader key lives; after its lease is revoked every write is NotLeader and nothing changes', async () => {
      const s = await open();
      const lease = s.client.lease(30, { autoKeepAlive: false });
      const leaderKey = `/etcd-specific-election/leader-${n}`;
      await lease.put(leaderKey).value('manager-a');
      const createRevision = String((await s.client.get(leaderKey).exec()).kvs[0].create_revision);
      const f = s.fenced({ key: leaderKey, createRevision });

      const a = await f.create(AD, ad('a'));
      const a2 = await f.update(AD, { ...a, spec: { agentType: 't', replicas: 3 } });
      expect(a2.metadata.generation).toBe(2);
      await f.create(AD, ad('b'));
      await f.delete(AD, 'c1', 'b');
      expect((await f.get(AD, 'c1', 'a')).spec).toEqual({ agentType: 't', replicas: 3 });

      await lease.revoke();
      const head = await s.revision();
      for (const write of [
        () => f.create(AD, ad('c')),
        () => f.update(AD, { ...a2, spec: { agentType: 't', replicas: 9 } }),
        () => f.update(AD, { ...a2, metadata: { ...a2.metadata, resourceVersion: undefined }, spec: { agentType: 't', replicas: 9 } }),
        () => f.delete(AD, 'c1', 'a'),
      ]) {
        const err = await caught(write());
        expect(err).toBeInstanceOf(NotLeader);
        expect(err).toMatchObject({ code: 503, message: 'this manager is no longer the leader' });
      }
      expect(await s.revision()).toBe(head);
      expect(await s.get(AD, 'c1', 'a')).toEqual(a2);
      expect((await s.list(AD)).items.map((o) => o.metadata.name)).toEqual(['a']);
      // The unfenced store (and reads through the view) still work.
      expect((await f.get(AD, 'c1', 'a')).metadata.uid).toBe(a.metadata.uid);
      await s.create(AD, ad('d'));
    });

    it('a leader key won again (a new term: another create revision) does not let the old term write', async () => {
      const s = await open();
      const key = `/etcd-specific-election/term-${n}`;
      await s.client.put(key).value('a');
      const first = String((await s.client.get(key).exec()).kvs[0].create_revision);
      const f = s.fenced({ key, createRevision: first });
      await f.create(AD, ad('x'));
      await s.client.delete().key(key);
      await s.client.put(key).value('b');
      expect(await caught(f.create(AD, ad('y')))).toBeInstanceOf(NotLeader);
      expect(await caught(f.get(AD, 'c1', 'y'))).toMatchObject({ code: 404 });
    });

    it('closing a fenced view leaves the store open', async () => {
      const s = await open();
      const key = `/etcd-specific-election/close-${n}`;
      await s.client.put(key).value('a');
      const f = s.fenced({ key, createRevision: String((await s.client.get(key).exec()).kvs[0].create_revision) });
      await f.close();
      await s.create(AD, ad('still-open'));
      expect(() => s.fenced({ key, createRevision: '0' })).toThrow(/create revision/);
    });
  });

  it('two stores on one etcd (two managers) see each other and conflict on stale writes', async () => {
    const a = await open({ prefix: '/shared/' });
    const b = await open({ prefix: '/shared/' });
    const seen: WatchEvent[] = [];
    const w = await b.watch(AD, {}, (ev) => seen.push(ev));
    const x = await a.create(AD, ad('x'));
    await waitFor('b sees x', () => seen.length === 1);
    expect(seen[0]).toEqual({ type: 'ADDED', object: x });
    const fromB = await b.get(AD, 'c1', 'x');
    await a.update(AD, { ...x, spec: { agentType: 't', replicas: 2 } });
    expect(await caught(b.update(AD, { ...fromB, spec: { agentType: 't', replicas: 5 } }))).toMatchObject({ code: 409, reason: 'Conflict' });
    // Racing unconditional updates both apply, one after the other.
    const { resourceVersion: _rv, ...meta } = fromB.metadata;
    await Promise.all([
      a.update(AD, { ...fromB, metadata: { ...meta, labels: { by: 'a' } } }),
      b.update(AD, { ...fromB, metadata: { ...meta, annotations: { by: 'b' } } }),
    ]);
    await waitFor('4 events', () => seen.length === 4);
    w.stop();
    expect(seen.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED']);
  });

  it('an object released by its last finalizer is DELETED without finalizers', async () => {
    const s = await open();
    const seen: WatchEvent[] = [];
    const x = await s.create(AD, ad('x', { finalizers: ['drover.dev/f'] }));
    const w = await s.watch(AD, { resourceVersion: x.metadata.resourceVersion }, (ev) => seen.push(ev));
    const marked = await s.delete(AD, 'c1', 'x');
    const gone = await s.update(AD, { ...marked, metadata: { ...marked.metadata, finalizers: [] } });
    await waitFor('2 events', () => seen.length === 2);
    w.stop();
    expect(seen[1]).toEqual({ type: 'DELETED', object: gone });
  });

  it('replays from etcd a watch older than the in-memory window, and answers Gone once compacted', async () => {
    const s = await open({ watchCacheSize: 3 });
    const first = await s.create(AD, ad('o0'));
    for (let i = 1; i < 10; i++) await s.create(AD, ad(`o${i}`));
    await waitFor('the window to move on', () => s.stats().watchCacheFloor > Number(first.metadata.resourceVersion));
    const seen: WatchEvent[] = [];
    const w = await s.watch(AD, { resourceVersion: first.metadata.resourceVersion, bookmarkIntervalMs: 20 }, (ev) => seen.push(ev));
    await s.create(AD, ad('live'));
    await waitFor('10 events', () => seen.filter((e) => e.type === 'ADDED').length === 10);
    expect(seen.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 'live']);
    await waitFor('a bookmark', () => seen.some((e) => e.type === 'BOOKMARK'));
    const bm = seen.find((e) => e.type === 'BOOKMARK')!;
    expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(first.metadata.resourceVersion));
    w.stop();

    const head = await s.revision();
    await s.compact(head);
    expect(await s.compactedRevision()).toBe(Number(head));
    const err = await caught(s.watch(AD, { resourceVersion: first.metadata.resourceVersion }, () => undefined));
    expect(err).toMatchObject({ code: 410, message: `too old resource version: ${first.metadata.resourceVersion} (${head})` });
  });

  it('lists more objects than one etcd range page, in pages and whole', async () => {
    const s = await open();
    const names: string[] = [];
    for (let i = 0; i < 1100; i++) names.push(`n${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((x) => s.create(AD, ad(x))));
    const all = await s.list(AD);
    expect(all.items.map((o) => o.metadata.name)).toEqual(names);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s.list(AD, { limit: 700, continue: token });
      seen.push(...page.items.map((o) => o.metadata.name));
      token = page.continue;
      if (token) expect(page.remainingItemCount).toBe(1100 - seen.length);
    } while (token);
    expect(seen).toEqual(names);
    const sel = await s.list(AD, { fieldSelector: 'metadata.name!=n0000', limit: 600 });
    expect(sel.items).toHaveLength(600);
    expect(sel.remainingItemCount).toBe(499);
  });

  it('fails to open with a clear message when etcd does not answer', async () => {
    await expect(openEtcdStore({ endpoints: ['http://127.0.0.1:9'], requestTimeoutMs: 1000 })).rejects.toThrow(/cannot open the etcd store at http:\/\/127.0.0.1:9/);
  });
});

describe('etcd store on three members', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => { etcd = await startEtcdCluster({ members: 3, name: 'three' }); }, 30_000);
  afterAll(() => etcd.stop());

  it('keeps reading, writing and watching when one member is killed', async () => {
    const s = await openEtcdStore({ endpoints: etcd.endpoints, prefix: '/three/', compactIntervalMs: 0 });
    try {
      const seen: WatchEvent[] = [];
      const w = await s.watch(AD, {}, (ev) => seen.push(ev));
      for (let i = 0; i < 5; i++) await s.create(AD, ad(`before-${i}`));
      await etcd.stopMember(0, { kill: true });
      for (let i = 0; i < 20; i++) await s.create(AD, ad(`after-${i}`));
      expect((await s.list(AD)).items).toHaveLength(25);
      await waitFor('25 watch events', () => seen.length === 25, 20_000);
      expect(new Set(seen.map((e) => e.object.metadata.name)).size).toBe(25);
      await etcd.startMember(0);
      await s.create(AD, ad('rejoined'));
      await waitFor('26 watch events', () => seen.length === 26, 20_000);
      w.stop();
    } finally {
      await s.close();
    }
  }, 60_000);
});

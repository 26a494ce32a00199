// The Store contract: every backend (SQLite, etcd) must pass these tests (store-contract.test.ts runs them).
// Only the Store interface from core/store.ts is used, never backend internals.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { Store, Watcher, WatchOptions } from '../../core/store.ts';
import type { KubeObject, WatchEvent } from '../../core/types.ts';
import { ApiError } from '../../core/errors.ts';

const AD = 'agentdeployments.drover.dev';
const EV = 'events.drover.dev';
const CL = 'clusters.drover.dev';

export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
}

function ad(name: string, namespace = 'c1', extra: { labels?: Record<string, string>; spec?: Record<string, unknown>; status?: Record<string, unknown>; finalizers?: string[] } = {}): KubeObject {
  const obj: KubeObject = {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'AgentDeployment',
    metadata: { name, namespace, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: extra.spec ?? { agentType: 'trading', replicas: 1 },
  };
  if (extra.status) obj.status = extra.status;
  return obj;
}

function cluster(name: string): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec: { placement: { strategy: 'Spread' } } };
}

function event(name: string, message: string): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name, namespace: 'c1' }, reason: 'Scheduled', message };
}

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw new Error(`expected an ApiError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected the call to fail, it succeeded');
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const rv = (o: KubeObject) => Number(o.metadata.resourceVersion);
const summary = (evs: WatchEvent[]) => evs.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`);

export function runStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const watchers: Watcher[] = [];

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      for (const w of watchers.splice(0)) w.stop();
      await cleanup();
    });

    /** Start a watch and record its events. */
    async function record(resource: string, opts: WatchOptions = {}) {
      const events: WatchEvent[] = [];
      const watcher = await store.watch(resource, opts, (ev) => events.push(ev));
      watchers.push(watcher);
      return { events, watcher };
    }

    /** Write a sentinel and wait for it, so "nothing else arrived" is checked without sleeping. */
    async function settle(events: WatchEvent[], resource = AD, sentinel?: KubeObject): Promise<void> {
      const s = await store.create(resource, sentinel ?? ad(`sentinel-${Math.random().toString(36).slice(2, 8)}`, 'sentinel'));
      await waitFor('the sentinel event', () => events.some((e) => e.object.metadata.uid === s.metadata.uid));
      events.splice(events.findIndex((e) => e.object.metadata.uid === s.metadata.uid), 1);
    }

    describe('create and get', () => {
      it('assigns uid, creationTimestamp, generation 1 and a resourceVersion, and get returns the same object', async () => {
        const created = await store.create(AD, ad('web', 'c1', { labels: { tier: 'a' } }));
        expect(created.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(created.metadata.generation).toBe(1);
        expect(created.metadata.resourceVersion).toMatch(/^[1-9]\d*$/);
        expect(created.spec).toEqual({ agentType: 'trading', replicas: 1 });
        expect(await store.get(AD, 'c1', 'web')).toEqual(created);
      });

      it('does not modify the caller\'s object and replaces server-owned fields sent by the client', async () => {
        const input = ad('web');
        input.metadata.uid = 'client-uid';
        input.metadata.resourceVersion = '999999';
        input.metadata.deletionTimestamp = '2020-01-01T00:00:00Z';
        const snapshot = JSON.parse(JSON.stringify(input));
        const created = await store.create(AD, input);
        expect(input).toEqual(snapshot);
        expect(created.metadata.uid).not.toBe('client-uid');
        expect(created.metadata.deletionTimestamp).toBeUndefined();
      });

      it('keeps cluster-scoped objects without a namespace', async () => {
        const c = await store.create(CL, cluster('customer1'));
        expect(c.metadata.namespace).toBeUndefined();
        expect((await store.get(CL, undefined, 'customer1')).metadata.uid).toBe(c.metadata.uid);
      });

      it('keeps the same name apart across namespaces and resources', async () => {
        const a = await store.create(AD, ad('same', 'c1'));
        const b = await store.create(AD, ad('same', 'c2'));
        const e = await store.create(EV, { ...event('same', 'hi') });
        expect(new Set([a.metadata.uid, b.metadata.uid, e.metadata.uid]).size).toBe(3);
        expect((await store.get(AD, 'c2', 'same')).metadata.uid).toBe(b.metadata.uid);
      });

      it.each([
        ['namespaced', AD, () => ad('dup'), 'agentdeployments.drover.dev "dup" already exists', 'agentdeployments'],
        ['cluster-scoped', CL, () => cluster('dup'), 'clusters.drover.dev "dup" already exists', 'clusters'],
      ])('create of an existing %s name is AlreadyExists (409)', async (_scope, resource, make, message, plural) => {
        await store.create(resource, make());
        const err = await caught(store.create(resource, make()));
        expect(err).toMatchObject({ code: 409, reason: 'AlreadyExists', message });
        expect(err.details).toMatchObject({ name: 'dup', group: 'drover.dev', kind: plural });
      });

      it.each([
        ['get', (s: Store) => s.get(AD, 'c1', 'ghost')],
        ['update', (s: Store) => s.update(AD, ad('ghost'))],
        ['delete', (s: Store) => s.delete(AD, 'c1', 'ghost')],
        ['get in another namespace', (s: Store) => s.get(AD, 'c2', 'ghost')],
      ])('%s of a missing object is NotFound (404)', async (_what, call) => {
        await store.create(AD, ad('ghost', 'c9'));
        const err = await caught(call(store));
        expect(err).toMatchObject({ code: 404, reason: 'NotFound', message: 'agentdeployments.drover.dev "ghost" not found' });
        expect(err.details).toMatchObject({ name: 'ghost', group: 'drover.dev', kind: 'agentdeployments' });
      });
    });

    describe('generateName', () => {
      it('appends 5 random characters and never reuses a name', async () => {
        const make = () => ({ ...ad(''), metadata: { name: '', namespace: 'c1', generateName: 'trading-' } });
        const names = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const o = await store.create(AD, make());
          expect(o.metadata.name).toMatch(/^trading-[a-z0-9]{5}$/);
          expect(o.metadata.generateName).toBe('trading-');
          names.add(o.metadata.name);
        }
        expect(names.size).toBe(20);
      });

      it('rejects an object with neither name nor generateName as Invalid (422)', async () => {
        const err = await caught(store.create(AD, ad('')));
        expect(err).toMatchObject({ code: 422, reason: 'Invalid' });
        expect(err.message).toContain('metadata.name');
      });
    });

    describe('revisions', () => {
      it('uses one monotonic counter across resources, reported by revision() and list', async () => {
        const revs: number[] = [Number(await store.revision())];
        revs.push(rv(await store.create(AD, ad('a'))));
        revs.push(rv(await store.create(CL, cluster('c1'))));
        revs.push(rv(await store.create(EV, event('e', 'x'))));
        const a = await store.get(AD, 'c1', 'a');
        revs.push(rv(await store.update(AD, { ...a, spec: { agentType: 'trading', replicas: 2 } })));
        revs.push(rv(await store.delete(CL, undefined, 'c1')));
        for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]);
        expect(Number(await store.revision())).toBe(revs[revs.length - 1]);
        expect(Number((await store.list(EV)).resourceVersion)).toBe(revs[revs.length - 1]);
      });

      it('keeps uid and creationTimestamp across updates', async () => {
        const created = await store.create(AD, ad('a'));
        const updated = await store.update(AD, { ...created, metadata: { ...created.metadata, uid: undefined, creationTimestamp: '2000-01-01T00:00:00Z', labels: { x: 'y' } } });
        expect(updated.metadata.uid).toBe(created.metadata.uid);
        expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
        expect(updated.metadata.labels).toEqual({ x: 'y' });
      });
    });

    describe('update', () => {
      it.each([
        ['spec change', AD, (o: KubeObject) => ({ ...o, spec: { ...o.spec, replicas: 5 } }), 2],
        ['label change', AD, (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, labels: { a: 'b' } } }), 1],
        ['annotation change', AD, (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, annotations: { a: 'b' } } }), 1],
        ['status change', AD, (o: KubeObject) => ({ ...o, status: { replicas: 3 } }), 1],
        ['Event (no spec): message change', EV, (o: KubeObject) => ({ ...o, message: 'changed' }), 2],
        ['Event (no spec): label change', EV, (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, labels: { a: 'b' } } }), 1],
      ])('generation after a %s is %d', async (_what, resource, change, generation) => {
        const created = await store.create(resource, resource === EV ? event('x', 'm') : ad('x'));
        const updated = await store.update(resource, change(created));
        expect(updated.metadata.generation).toBe(generation);
        expect(rv(updated)).toBeGreaterThan(rv(created));
        expect(await store.get(resource, 'c1', 'x')).toEqual(updated);
      });

      it('rejects a stale resourceVersion with Conflict (409) and the Kubernetes message', async () => {
        const v1 = await store.create(AD, ad('x'));
        await store.update(AD, { ...v1, spec: { replicas: 2 } });
        const err = await caught(store.update(AD, { ...v1, spec: { replicas: 3 } }));
        expect(err).toMatchObject({
          code: 409, reason: 'Conflict',
          message: 'Operation cannot be fulfilled on agentdeployments.drover.dev "x": the object has been modified; please apply your changes to the latest version and try again',
        });
        expect((await store.get(AD, 'c1', 'x')).spec).toEqual({ replicas: 2 });
      });

      it('accepts an update without resourceVersion as unconditional', async () => {
        const v1 = await store.create(AD, ad('x'));
        await store.update(AD, { ...v1, spec: { replicas: 2 } });
        const { resourceVersion: _rv, ...meta } = v1.metadata;
        const v3 = await store.update(AD, { ...v1, metadata: meta, spec: { replicas: 3 } });
        expect(v3.spec).toEqual({ replicas: 3 });
        expect(v3.metadata.generation).toBe(3);
      });

      it('an update that changes nothing keeps the resourceVersion and emits no event', async () => {
        const v1 = await store.create(AD, ad('x', 'c1', { labels: { a: 'b' } }));
        const { events } = await record(AD);
        const reordered = { spec: v1.spec, metadata: { ...v1.metadata }, kind: v1.kind, apiVersion: v1.apiVersion } as KubeObject;
        const same = await store.update(AD, reordered);
        expect(same).toEqual(v1);
        expect(await store.revision()).toBe(v1.metadata.resourceVersion);
        await settle(events);
        expect(events).toEqual([]);
      });
    });

    describe('delete and finalizers', () => {
      it('removes an object without finalizers and returns its last state at the deletion revision', async () => {
        const v1 = await store.create(AD, ad('x'));
        const { events } = await record(AD);
        const last = await store.delete(AD, 'c1', 'x');
        expect(last.metadata.uid).toBe(v1.metadata.uid);
        expect(rv(last)).toBeGreaterThan(rv(v1));
        expect(await store.revision()).toBe(last.metadata.resourceVersion);
        expect((await caught(store.get(AD, 'c1', 'x'))).code).toBe(404);
        await waitFor('DELETED', () => events.length === 1);
        expect(events[0]).toEqual({ type: 'DELETED', object: last });
      });

      it.each([
        ['resourceVersion', (o: KubeObject) => ({ resourceVersion: String(rv(o) - 1) })],
        ['uid', () => ({ uid: '00000000-0000-0000-0000-000000000000' })],
      ])('a delete with a failing %s precondition is Conflict and keeps the object', async (_what, pre) => {
        const v1 = await store.create(AD, ad('x'));
        await store.update(AD, { ...v1, spec: { replicas: 9 } });
        const err = await caught(store.delete(AD, 'c1', 'x', pre(v1)));
        expect(err).toMatchObject({ code: 409, reason: 'Conflict' });
        expect(err.message).toContain('agentdeployments.drover.dev "x"');
        expect((await store.get(AD, 'c1', 'x')).spec).toEqual({ replicas: 9 });
      });

      it('holds an object with finalizers until the last finalizer is removed', async () => {
        const v1 = await store.create(AD, ad('x', 'c1', { finalizers: ['drover.dev/cleanup', 'drover.dev/other'] }));
        const { events } = await record(AD);

        const marked = await store.delete(AD, 'c1', 'x');
        expect(marked.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(rv(marked)).toBeGreaterThan(rv(v1));
        expect(await store.get(AD, 'c1', 'x')).toEqual(marked);

        const again = await store.delete(AD, 'c1', 'x');
        expect(again.metadata.resourceVersion).toBe(marked.metadata.resourceVersion);

        const cleared = await store.update(AD, { ...marked, metadata: { ...marked.metadata, deletionTimestamp: undefined } });
        expect(cleared.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);

        const one = await store.update(AD, { ...marked, metadata: { ...marked.metadata, finalizers: ['drover.dev/other'] } });
        expect(one.metadata.finalizers).toEqual(['drover.dev/other']);
        expect((await store.get(AD, 'c1', 'x')).metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);

        const gone = await store.update(AD, { ...one, metadata: { ...one.metadata, finalizers: [] } });
        expect(rv(gone)).toBeGreaterThan(rv(one));
        expect((await caught(store.get(AD, 'c1', 'x'))).code).toBe(404);

        await waitFor('three events', () => events.length >= 3);
        await settle(events);
        expect(summary(events)).toEqual(['MODIFIED x', 'MODIFIED x', 'DELETED x']);
        expect(events[0].object.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
        expect(events[2].object.metadata.resourceVersion).toBe(gone.metadata.resourceVersion);
      });
    });

    describe('list', () => {
      async function seed(): Promise<void> {
        const objs: [string, string, Record<string, string>, string][] = [
          ['c2', 'beta', { tier: 'agents', zone: 'eu' }, 'Running'],
          ['c1', 'delta', { tier: 'db' }, 'Pending'],
          ['c1', 'alpha', { tier: 'agents', zone: 'us' }, 'Running'],
          ['c2', 'alpha', {}, 'Failed'],
          ['c1', 'charlie', { tier: 'agents' }, 'Pending'],
        ];
        for (const [ns, n, labels, phase] of objs) {
          await store.create(AD, { ...ad(n, ns, { labels, spec: { nodeName: `node-${n}` } }), status: { phase } });
        }
        await store.create(EV, event('not-a-deployment', 'x'));
      }
      const names = (items: KubeObject[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

      it('returns every object of the resource ordered by namespace then name', async () => {
        await seed();
        const all = await store.list(AD);
        expect(names(all.items)).toEqual(['c1/alpha', 'c1/charlie', 'c1/delta', 'c2/alpha', 'c2/beta']);
        expect(all.continue).toBeUndefined();
        expect(all.remainingItemCount).toBeUndefined();
        expect(all.resourceVersion).toBe(await store.revision());
      });

      it('filters by namespace', async () => {
        await seed();
        expect(names((await store.list(AD, { namespace: 'c2' })).items)).toEqual(['c2/alpha', 'c2/beta']);
        expect((await store.list(AD, { namespace: 'nope' })).items).toEqual([]);
      });

      it.each([
        ['tier=agents', ['c1/alpha', 'c1/charlie', 'c2/beta']],
        ['tier==agents', ['c1/alpha', 'c1/charlie', 'c2/beta']],
        ['tier!=agents', ['c1/delta', 'c2/alpha']],
        ['tier in (db,agents),zone', ['c1/alpha', 'c2/beta']],
        ['zone notin (us)', ['c1/charlie', 'c1/delta', 'c2/alpha', 'c2/beta']],
        ['!zone', ['c1/charlie', 'c1/delta', 'c2/alpha']],
        ['tier', ['c1/alpha', 'c1/charlie', 'c1/delta', 'c2/beta']],
        ['tier=agents,zone=eu', ['c2/beta']],
      ])('label selector %s', async (labelSelector, expected) => {
        await seed();
        expect(names((await store.list(AD, { labelSelector })).items)).toEqual(expected);
      });

      it.each([
        ['metadata.name=alpha', ['c1/alpha', 'c2/alpha']],
        ['metadata.namespace==c2', ['c2/alpha', 'c2/beta']],
        ['status.phase!=Running', ['c1/charlie', 'c1/delta', 'c2/alpha']],
        ['spec.nodeName=node-beta', ['c2/beta']],
        ['status.phase=Pending,metadata.name!=delta', ['c1/charlie']],
      ])('field selector %s', async (fieldSelector, expected) => {
        await seed();
        expect(names((await store.list(AD, { fieldSelector })).items)).toEqual(expected);
      });

      it.each([
        ['labelSelector', { labelSelector: 'tier in (a' }],
        ['fieldSelector', { fieldSelector: 'status.phase' }],
        ['continue', { continue: 'not-a-token' }],
      ])('rejects a malformed %s with BadRequest (400)', async (_what, opts) => {
        await seed();
        expect(await caught(store.list(AD, opts))).toMatchObject({ code: 400 });
      });

      it.each([
        ['without selector', {}, ['c1/alpha', 'c1/charlie', 'c1/delta', 'c2/alpha', 'c2/beta']],
        ['with a label selector', { labelSelector: 'tier' }, ['c1/alpha', 'c1/charlie', 'c1/delta', 'c2/beta']],
        ['in one namespace', { namespace: 'c1' }, ['c1/alpha', 'c1/charlie', 'c1/delta']],
      ])('pages with limit and continue %s', async (_what, opts, expected) => {
        await seed();
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(AD, { ...opts, limit: 2, continue: token });
          pages++;
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...names(page.items));
          token = page.continue;
          expect(page.remainingItemCount).toBe(token ? expected.length - seen.length : undefined);
        } while (token && pages < 10);
        expect(seen).toEqual(expected);
        expect(pages).toBe(Math.ceil(expected.length / 2));
      });

      it('continues with current data after the last key', async () => {
        await seed();
        const first = await store.list(AD, { limit: 2 });
        await store.delete(AD, 'c1', 'delta');
        await store.create(AD, ad('zulu', 'c1'));
        await store.create(AD, ad('aaa', 'c1'));
        const rest = await store.list(AD, { limit: 10, continue: first.continue });
        expect(names(rest.items)).toEqual(['c1/zulu', 'c2/alpha', 'c2/beta']);
      });

      it('answers Gone (410) for a continue token older than the compacted history', async () => {
        await seed();
        const first = await store.list(AD, { limit: 2 });
        await store.create(AD, ad('later'));
        await store.compact(await store.revision());
        expect(await caught(store.list(AD, { limit: 2, continue: first.continue }))).toMatchObject({ code: 410 });
      });
    });

    describe('watch', () => {
      it('delivers ADDED, MODIFIED and DELETED after now, in revision order', async () => {
        await store.create(AD, ad('before'));
        const { events } = await record(AD);
        const a = await store.create(AD, ad('a'));
        const a2 = await store.update(AD, { ...a, spec: { replicas: 4 } });
        const gone = await store.delete(AD, 'c1', 'a');
        await waitFor('3 events', () => events.length >= 3);
        expect(events).toEqual([
          { type: 'ADDED', object: a },
          { type: 'MODIFIED', object: a2 },
          { type: 'DELETED', object: gone },
        ]);
      });

      it.each([['0'], [undefined]])('with resourceVersion %p starts from now without replay', async (resourceVersion) => {
        await store.create(AD, ad('old'));
        const { events } = await record(AD, { resourceVersion });
        await store.create(AD, ad('new'));
        await settle(events);
        expect(summary(events)).toEqual(['ADDED new']);
      });

      it('replays history after a revision, then goes live without gaps or duplicates', async () => {
        const first = await store.create(AD, ad('n00'));
        for (let i = 1; i < 10; i++) await store.create(AD, ad(`n${String(i).padStart(2, '0')}`));
        // Writes race with the watch start: replay and live must still join exactly.
        const writes = Promise.all(Array.from({ length: 20 }, (_, i) => store.create(AD, ad(`n${i + 10}`))));
        const { events } = await record(AD, { resourceVersion: first.metadata.resourceVersion });
        await writes;
        await store.create(AD, ad('n99'));
        await waitFor('30 events', () => events.length >= 30);
        await settle(events);
        const got = events.map((e) => e.object.metadata.name);
        expect(new Set(got).size).toBe(got.length);
        const expected = [...Array.from({ length: 29 }, (_, i) => `n${String(i + 1).padStart(2, '0')}`), 'n99'];
        expect([...got].sort()).toEqual(expected);
        const revs = events.map((e) => rv(e.object));
        for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]);
      });

      it('keeps revision order when a handler writes to the store during replay', async () => {
        const first = await store.create(AD, ad('h0'));
        await store.create(AD, ad('h1'));
        await store.create(AD, ad('h2'));
        const events: WatchEvent[] = [];
        const writes: Promise<KubeObject>[] = [];
        watchers.push(await store.watch(AD, { resourceVersion: first.metadata.resourceVersion }, (ev) => {
          events.push(ev);
          if (ev.object.metadata.name === 'h1') writes.push(store.create(AD, ad('from-handler')));
        }));
        await Promise.all(writes);
        await store.create(AD, ad('h3'));
        await waitFor('4 events', () => events.length >= 4);
        await settle(events);
        expect(summary(events)).toEqual(['ADDED h1', 'ADDED h2', 'ADDED from-handler', 'ADDED h3']);
      });

      it('rejects a resourceVersion older than the compacted history with Gone (410)', async () => {
        const a = await store.create(AD, ad('a'));
        await store.create(AD, ad('b'));
        const head = await store.revision();
        await store.compact(head);
        const err = await caught(store.watch(AD, { resourceVersion: a.metadata.resourceVersion }, () => undefined));
        expect(err).toMatchObject({ code: 410 });
        expect(err.message).toContain(`too old resource version: ${a.metadata.resourceVersion}`);
        const { events } = await record(AD, { resourceVersion: head });
        await store.create(AD, ad('c'));
        await settle(events);
        expect(summary(events)).toEqual(['ADDED c']);
      });

      it('filters by namespace', async () => {
        const { events } = await record(AD, { namespace: 'c2' });
        await store.create(AD, ad('a', 'c1'));
        await store.create(AD, ad('b', 'c2'));
        await settle(events, AD, ad('sentinel', 'c2'));
        expect(summary(events)).toEqual(['ADDED b']);
      });

      const selectorCases = [
        ['label', { labelSelector: 'tier=agents' }, (o: KubeObject, on: boolean) => ({ ...o, metadata: { ...o.metadata, labels: on ? { tier: 'agents' } : { tier: 'db' } } })],
        ['field', { fieldSelector: 'status.phase=Running' }, (o: KubeObject, on: boolean) => ({ ...o, status: { phase: on ? 'Running' : 'Failed' } })],
      ] as const;
      it.each(selectorCases.flatMap(([kind, opts, set]) => [['replayed', kind, opts, set], ['live', kind, opts, set]] as const))(
        '%s, with a %s selector: objects leaving it are DELETED, entering it ADDED',
        async (mode, _kind, opts, set) => {
          const x = await store.create(AD, set(ad('x'), true));
          const live = mode === 'live' ? await record(AD, opts) : undefined;
          const out = await store.update(AD, set(x, false));
          await store.update(AD, set(out, true));
          const changed = await store.update(AD, { ...(await store.get(AD, 'c1', 'x')), spec: { replicas: 7 } });
          await store.create(AD, set(ad('never'), false));
          await store.delete(AD, 'c1', 'x');
          const { events } = live ?? (await record(AD, { ...opts, resourceVersion: x.metadata.resourceVersion }));
          await settle(events, AD, set(ad('sentinel'), true));
          expect(summary(events)).toEqual(['DELETED x', 'ADDED x', 'MODIFIED x', 'DELETED x']);
          expect(events[0].object.metadata.resourceVersion).toBe(out.metadata.resourceVersion);
          expect(events[2].object).toEqual(changed);
        },
      );

      it("watch('*') sees every resource", async () => {
        const { events } = await record('*');
        await store.create(AD, ad('a'));
        await store.create(CL, cluster('c'));
        await store.create(EV, event('e', 'hi'));
        await waitFor('3 events', () => events.length >= 3);
        expect(events.map((e) => `${e.object.kind} ${e.object.metadata.name}`)).toEqual(['AgentDeployment a', 'Cluster c', 'Event e']);
      });

      it('only delivers the watched resource', async () => {
        const { events } = await record(CL);
        await store.create(AD, ad('a'));
        await store.create(CL, cluster('c'));
        await waitFor('cluster event', () => events.length >= 1);
        await settle(events, CL, cluster('sentinel'));
        expect(summary(events)).toEqual(['ADDED c']);
      });

      it('sends bookmarks carrying the current revision when asked', async () => {
        await store.create(AD, ad('a'));
        const { events } = await record(AD, { bookmarkIntervalMs: 20 });
        const head = await store.revision();
        await waitFor('a bookmark', () => events.some((e) => e.type === 'BOOKMARK'));
        const bm = events.find((e) => e.type === 'BOOKMARK') as WatchEvent;
        expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(head));
        expect(bm.object.metadata.resourceVersion).toBe(await store.revision());
        expect(bm.object.metadata).toEqual({ resourceVersion: await store.revision() });
      });

      it('sends no bookmarks unless asked', async () => {
        const { events } = await record(AD);
        await new Promise((r) => setTimeout(r, 100));
        await settle(events);
        expect(events).toEqual([]);
      });

      it('stop() ends delivery', async () => {
        const { events, watcher } = await record(AD);
        await store.create(AD, ad('a'));
        await waitFor('first event', () => events.length === 1);
        watcher.stop();
        watcher.stop();
        await store.create(AD, ad('b'));
        const other = await record(AD);
        await settle(other.events);
        expect(summary(events)).toEqual(['ADDED a']);
      });

      it('stops a watcher whose handler throws and keeps the others going', async () => {
        const bad: WatchEvent[] = [];
        watchers.push(await store.watch(AD, {}, (ev) => { bad.push(ev); throw new Error('handler failed'); }));
        const { events } = await record(AD);
        await store.create(AD, ad('a'));
        await store.create(AD, ad('b'));
        await waitFor('two events', () => events.length >= 2);
        await settle(events);
        expect(summary(bad)).toEqual(['ADDED a']);
        expect(summary(events)).toEqual(['ADDED a', 'ADDED b']);
      });
    });
  });
}

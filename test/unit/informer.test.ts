import { describe, it, expect } from '@jest/globals';
import { createInformer, type ListerWatcher, type Informer } from '../../controllers/informer.ts';
import { FakeClock, flushMicrotasks } from '../../core/clock.ts';
import { Gone } from '../../core/errors.ts';
import type { KubeObject, WatchEvent } from '../../core/types.ts';

function obj(name: string, rv: string, labels: Record<string, string> = {}, ns = 'c1'): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name, namespace: ns, resourceVersion: rv, labels } };
}

interface FakeWatch {
  resourceVersion: string;
  onEvent: (ev: WatchEvent) => void;
  onError: (err?: unknown) => void;
  stopped: boolean;
}

/** A scriptable ListerWatcher: tests set what list() returns and push events into the newest watch. */
class FakeListerWatcher implements ListerWatcher {
  items: KubeObject[] = [];
  rv = '0';
  lists = 0;
  watches: FakeWatch[] = [];
  rejectNextWatch: unknown;

  async list() {
    this.lists++;
    return { items: [...this.items], resourceVersion: this.rv };
  }
  async watch(opts: { resourceVersion: string }, onEvent: FakeWatch['onEvent'], onError: FakeWatch['onError']) {
    if (this.rejectNextWatch) {
      const err = this.rejectNextWatch;
      this.rejectNextWatch = undefined;
      throw err;
    }
    const w: FakeWatch = { resourceVersion: opts.resourceVersion, onEvent, onError, stopped: false };
    this.watches.push(w);
    return { stop: () => { w.stopped = true; } };
  }
  get live(): FakeWatch {
    return this.watches[this.watches.length - 1];
  }
}

function record(inf: Informer): string[] {
  const log: string[] = [];
  inf.on('add', (o) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`));
  inf.on('update', (o, n) => log.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata.name}`));
  return log;
}

async function started(lw: FakeListerWatcher, clock = new FakeClock(), indexers = {}) {
  const inf = createInformer({ listerWatcher: lw, clock, indexers, backoff: { initialMs: 100, maxMs: 400 } });
  const log = record(inf);
  await inf.start();
  await flushMicrotasks();
  return { inf, log, clock };
}

describe('informer', () => {
  it('lists first, emits add for each object, then watches from the list revision', async () => {
    const lw = new FakeListerWatcher();
    lw.items = [obj('a', '1'), obj('b', '2')];
    lw.rv = '7';
    const { inf, log } = await started(lw);
    expect(inf.hasSynced()).toBe(true);
    expect(log).toEqual(['add a@1', 'add b@2']);
    expect(lw.watches).toHaveLength(1);
    expect(lw.live.resourceVersion).toBe('7');
    expect(inf.cache.list('c1').map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect(inf.cache.get('c1', 'a')?.metadata.resourceVersion).toBe('1');
    expect(inf.cache.list('other')).toEqual([]);
    inf.stop();
  });

  it('applies watch events to the cache and handlers; BOOKMARK only moves the revision', async () => {
    const lw = new FakeListerWatcher();
    lw.items = [obj('a', '1')];
    lw.rv = '1';
    const { inf, log } = await started(lw);
    lw.live.onEvent({ type: 'ADDED', object: obj('b', '2') });
    lw.live.onEvent({ type: 'MODIFIED', object: obj('a', '3') });
    lw.live.onEvent({ type: 'DELETED', object: obj('b', '4') });
    lw.live.onEvent({ type: 'BOOKMARK', object: { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: '', resourceVersion: '9' } } });
    expect(log).toEqual(['add a@1', 'add b@2', 'update a@1->3', 'delete b']);
    expect(inf.cache.get('c1', 'a')?.metadata.resourceVersion).toBe('3');
    expect(inf.cache.get('c1', 'b')).toBeUndefined();
    expect(inf.lastSyncResourceVersion()).toBe('9');
    inf.stop();
  });

  it.each([
    ['the watch call rejects with Gone', (lw: FakeListerWatcher) => { lw.rejectNextWatch = new Gone('too old'); lw.live.onError(new Error('dropped')); }],
    ['onError receives Gone', (lw: FakeListerWatcher) => lw.live.onError(new Gone('too old'))],
    ['an ERROR event carries a 410 Status', (lw: FakeListerWatcher) => lw.live.onEvent({ type: 'ERROR', object: new Gone('too old').toStatus() as unknown as KubeObject })],
  ])('relists and converges when %s', async (_name, deliver410) => {
    const lw = new FakeListerWatcher();
    lw.items = [obj('a', '1'), obj('b', '2'), obj('c', '3')];
    lw.rv = '3';
    const { inf, log, clock } = await started(lw);
    log.length = 0;
    // While the watch was away: a deleted, b modified, d added, c untouched.
    lw.items = [obj('b', '5'), obj('c', '3'), obj('d', '6')];
    lw.rv = '6';
    deliver410(lw);
    await clock.advanceAsync(1000);
    expect(log.sort()).toEqual(['add d@6', 'delete a', 'update b@2->5']);
    expect(inf.cache.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()).toEqual(['b@5', 'c@3', 'd@6']);
    expect(lw.lists).toBe(2);
    expect(lw.live.resourceVersion).toBe('6');
    expect(lw.watches.filter((w) => !w.stopped)).toHaveLength(1);
    inf.stop();
  });

  it('re-watches from the last seen revision with capped doubling backoff, reset by an event', async () => {
    const lw = new FakeListerWatcher();
    lw.rv = '1';
    const { inf, clock } = await started(lw);
    lw.live.onEvent({ type: 'ADDED', object: obj('a', '4') });

    const delays: number[] = [];
    // Fail five times in a row and measure how long each re-watch takes to happen.
    for (let i = 0; i < 5; i++) {
      const before = lw.watches.length;
      lw.live.onError(new Error('connection reset'));
      let waited = 0;
      while (lw.watches.length === before) {
        await clock.advanceAsync(10);
        waited += 10;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    expect(lw.live.resourceVersion).toBe('4');
    expect(lw.lists).toBe(1); // no relist for ordinary errors

    lw.live.onEvent({ type: 'MODIFIED', object: obj('a', '8') });
    lw.live.onError(undefined); // a clean end re-watches too
    await clock.advanceAsync(100);
    expect(lw.live.resourceVersion).toBe('8');
    expect(lw.watches.filter((w) => !w.stopped)).toHaveLength(1);
    inf.stop();
  });

  it('keeps indexes in step with adds, updates and deletes', async () => {
    const lw = new FakeListerWatcher();
    lw.items = [obj('a', '1', { app: 'web' }), obj('b', '2', { app: 'db' }), obj('c', '3', { app: 'web' })];
    lw.rv = '3';
    const byApp = { app: (o: KubeObject) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []) };
    const { inf } = await started(lw, new FakeClock(), byApp);
    const names = (v: string) => inf.cache.byIndex('app', v).map((o) => o.metadata.name).sort();
    expect(names('web')).toEqual(['a', 'c']);
    lw.live.onEvent({ type: 'MODIFIED', object: obj('a', '4', { app: 'db' }) });
    expect(names('web')).toEqual(['c']);
    expect(names('db')).toEqual(['a', 'b']);
    lw.live.onEvent({ type: 'DELETED', object: obj('b', '5', { app: 'db' }) });
    expect(names('db')).toEqual(['a']);
    expect(() => inf.cache.byIndex('nope', 'x')).toThrow(/no index/);
    inf.stop();
  });

  it('retries a failed initial list and resolves start() once it succeeds; stop leaves nothing running', async () => {
    const lw = new FakeListerWatcher();
    let failures = 2;
    const realList = lw.list.bind(lw);
    lw.list = async () => {
      if (failures-- > 0) throw new Error('store not ready');
      return realList();
    };
    lw.items = [obj('a', '1')];
    lw.rv = '1';
    const clock = new FakeClock();
    const inf = createInformer({ listerWatcher: lw, clock, backoff: { initialMs: 100, maxMs: 400 } });
    let done = false;
    const p = inf.start().then(() => { done = true; });
    await clock.advanceAsync(100);
    expect(done).toBe(false);
    await clock.advanceAsync(200);
    await p;
    expect(inf.hasSynced()).toBe(true);
    inf.stop();
    expect(lw.live.stopped).toBe(true);
    expect(clock.pending()).toBe(0);
  });
});

describe('list by namespace', () => {
  it('lists one namespace from its own index, following adds, updates, deletes and relists', async () => {
    const lw = new FakeListerWatcher();
    lw.items = [obj('a', '1', {}, 'c1'), obj('b', '2', {}, 'c2'), obj('c', '3', {}, 'c1')];
    lw.rv = '3';
    const { inf } = await started(lw);
    const names = (ns?: string) => inf.cache.list(ns).map((o) => o.metadata.name).sort();
    expect(names('c1')).toEqual(['a', 'c']);
    expect(names('c2')).toEqual(['b']);
    expect(names()).toEqual(['a', 'b', 'c']);
    expect(names('')).toEqual([]);
    lw.live.onEvent({ type: 'ADDED', object: obj('d', '4', {}, 'c2') });
    lw.live.onEvent({ type: 'MODIFIED', object: obj('a', '5', { x: 'y' }, 'c1') });
    lw.live.onEvent({ type: 'DELETED', object: obj('c', '6', {}, 'c1') });
    expect(names('c1')).toEqual(['a']);
    expect(inf.cache.list('c1')[0].metadata.labels).toEqual({ x: 'y' });
    expect(names('c2')).toEqual(['b', 'd']);
    // the list is a copy: changing it changes nothing in the cache
    inf.cache.list('c2').pop();
    expect(names('c2')).toEqual(['b', 'd']);
    lw.live.onEvent({ type: 'DELETED', object: obj('a', '7', {}, 'c1') });
    expect(names('c1')).toEqual([]);
  });
});

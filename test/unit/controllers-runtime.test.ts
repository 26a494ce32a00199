// The controller's requeue switch and the event recorder, against a :memory: SQLite store with a FakeClock.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { Conflict, TerminalError } from '../../core/errors.ts';
import { FakeClock, flushMicrotasks } from '../../core/clock.ts';
import { createControllerManager, type ControllerManager } from '../../controllers/controller-manager.ts';
import { createController, type Controller, type Result } from '../../controllers/controller.ts';
import { storeListerWatcher } from '../../controllers/store-lister-watcher.ts';
import { createEventRecorder, EVENT_SERIES_WINDOW_MS } from '../../controllers/event-recorder.ts';
import type { KubeObject } from '../../core/types.ts';

const V = 'drover.dev/v1alpha1';
const registry = loadRegistry();
const clusterRt = registry.resolve('Cluster')!;
let store: SqliteStore;
let clock: FakeClock;

beforeEach(async () => {
  clock = new FakeClock();
  store = await openSqliteStore({ path: ':memory:', clock: () => clock.now() });
});
afterEach(async () => {
  await store.close();
});

describe('controller requeue switch', () => {
  let manager: ControllerManager;
  let controller: Controller;
  let calls: number[];
  let behaviour: (n: number) => Result | Error;

  beforeEach(async () => {
    calls = [];
    manager = createControllerManager({ listerWatcherFor: (k) => storeListerWatcher(store, k), logger: nullLogger(), clock });
    controller = createController({
      name: 'test',
      resource: clusterRt,
      informers: manager,
      logger: nullLogger(),
      clock,
      queue: { baseDelayMs: 10, maxDelayMs: 1000 },
      async reconcile(req) {
        expect(req).toEqual({ name: 'c1' });
        calls.push(clock.now());
        const out = behaviour(calls.length);
        if (out instanceof Error) throw out;
        return out;
      },
    });
    manager.add(controller);
  });
  afterEach(async () => {
    await manager.stop();
    expect(clock.pending()).toBe(0); // stop leaves no timers behind
  });

  it.each([
    { name: 'success is reconciled once', behaviour: () => ({}), offsets: [0], errors: 0, terminal: 0 },
    { name: 'errors retry with doubling backoff, then success forgets', behaviour: (n: number) => (n <= 3 ? new Error('boom') : {}), offsets: [0, 10, 30, 70], errors: 3, terminal: 0 },
    { name: 'conflicts are retried like any error', behaviour: (n: number) => (n === 1 ? new Conflict('stale') : {}), offsets: [0, 10], errors: 1, terminal: 0 },
    { name: 'a TerminalError is not retried', behaviour: () => new TerminalError('spec can never work'), offsets: [0], errors: 0, terminal: 1 },
    { name: 'requeueAfter reconciles again later', behaviour: () => ({ requeueAfter: 1000 }), offsets: [0, 1000, 2000, 3000], errors: 0, terminal: 0 },
  ])('$name', async ({ behaviour: b, offsets, errors, terminal }) => {
    behaviour = b;
    await store.create(clusterRt.key, { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1' }, spec: {} });
    const t0 = clock.now();
    await manager.start();
    for (let i = 0; i < 30; i++) await clock.advanceAsync(100); // 3 s of fake time, step by step
    expect(calls.map((t) => t - t0)).toEqual(offsets);
    expect(controller.stats).toMatchObject({ errors, terminalErrors: terminal });
    expect(controller.queue.numRequeues('c1')).toBe(0);
  });
});

describe('event recorder', () => {
  const cluster: KubeObject = { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1', uid: 'uid-c1' } };
  const node: KubeObject = { apiVersion: V, kind: 'Node', metadata: { name: 'n1', namespace: 'c1', uid: 'uid-n1' } };
  const events = async () => (await store.list('events.drover.dev')).items;

  it('increments count and lastTimestamp for a repeat within 10 minutes', async () => {
    const rec = createEventRecorder({ store, component: 'test', logger: nullLogger(), clock });
    await rec.record(node, 'Warning', 'NodeNotReady', 'no heartbeat for 10s');
    clock.advance(60_000);
    await rec.record(node, 'Warning', 'NodeNotReady', 'no heartbeat for 10s');
    const [ev, ...rest] = await events();
    expect(rest).toHaveLength(0);
    expect(ev).toMatchObject({
      kind: 'Event', type: 'Warning', reason: 'NodeNotReady', count: 2,
      metadata: { namespace: 'c1' },
      involvedObject: { kind: 'Node', name: 'n1', namespace: 'c1', uid: 'uid-n1' },
      firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:01:00Z',
      source: { component: 'test' },
    });
    expect(ev.metadata.name).toMatch(/^n1\.[0-9a-f]+$/);
  });

  it.each([
    { name: 'another message', second: 'no heartbeat for 20s', wait: 0, expected: 2 },
    { name: 'the same message after the window', second: 'no heartbeat for 10s', wait: EVENT_SERIES_WINDOW_MS + 1, expected: 2 },
    { name: 'the same message just inside the window', second: 'no heartbeat for 10s', wait: EVENT_SERIES_WINDOW_MS - 1, expected: 1 },
  ])('$name makes $expected Event object(s)', async ({ second, wait, expected }) => {
    const rec = createEventRecorder({ store, component: 'test', logger: nullLogger(), clock });
    await rec.record(node, 'Warning', 'NodeNotReady', 'no heartbeat for 10s');
    clock.advance(wait);
    await rec.record(node, 'Warning', 'NodeNotReady', second);
    expect(await events()).toHaveLength(expected);
  });

  it('counts concurrent repeats exactly and files cluster-scoped objects under their own name', async () => {
    const rec = createEventRecorder({ store, component: 'test', logger: nullLogger(), clock });
    await Promise.all(Array.from({ length: 5 }, () => rec.record(cluster, 'Normal', 'ClusterReady', '1/1 nodes are ready')));
    await flushMicrotasks();
    const all = await events();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ count: 5, metadata: { namespace: 'c1' }, involvedObject: { kind: 'Cluster', name: 'c1' } });
    expect(all[0].involvedObject).not.toHaveProperty('namespace');
  });

  it('starts a new series when the Event was deleted meanwhile', async () => {
    const rec = createEventRecorder({ store, component: 'test', logger: nullLogger(), clock });
    await rec.record(node, 'Normal', 'Scheduled', 'bound to n1');
    const [first] = await events();
    await store.delete('events.drover.dev', 'c1', first.metadata.name);
    await rec.record(node, 'Normal', 'Scheduled', 'bound to n1');
    const all = await events();
    expect(all).toHaveLength(1);
    expect(all[0].count).toBe(1);
  });
});

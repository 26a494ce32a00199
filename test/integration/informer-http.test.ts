// Informers over real HTTP against the real manager process: live events, 410 on a compacted
// revision, and relist-and-converge after the manager restarts on a store that moved on without it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { ApiClient } from '../../core/client.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { ResourceType } from '../../core/resources.ts';
import type { KubeObject, Status, WatchEvent } from '../../core/types.ts';
import { createInformer, isGone, type Informer, type ListerWatcher } from '../../controllers/informer.ts';
import { clientListerWatcher } from '../../controllers/client-lister-watcher.ts';
import { openSqliteStore } from '../../store/index.ts';
import { startManager, api, cleanup, sleep, type ManagerProcess } from '../helpers/processes.ts';

const NS = 'default';
const WAIT_MS = 20_000;
const informers = new Set<Informer>();
let containers: ResourceType;

beforeAll(() => {
  containers = loadRegistry().resolve('Container')!;
});
afterAll(async () => {
  for (const inf of informers) inf.stop();
  await cleanup();
});

const collectionPath = () => `/apis/drover.dev/v1alpha1/namespaces/${NS}/containers`;
const container = (name: string, image = 'example/agent:1.0'): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container',
  metadata: { name, namespace: NS }, spec: { image, command: ['/bin/sh', '-c', 'exec sleep infinity'] },
});

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

async function create(m: ManagerProcess, obj: KubeObject): Promise<KubeObject> {
  const r = await api(m, 'POST', collectionPath(), obj);
  expect(r.status).toBe(201);
  return r.body as KubeObject;
}

/** Names and resourceVersions, sorted: what "the same list" means to a user. */
const versions = (items: KubeObject[]) =>
  items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

async function serverVersions(m: ManagerProcess): Promise<string[]> {
  const r = await api(m, 'GET', collectionPath());
  expect(r.status).toBe(200);
  return versions(r.body.items as KubeObject[]);
}

/** The manager restarted on the same data dir and port, so clients reconnect to the same URL. */
async function restart(m: ManagerProcess): Promise<ManagerProcess> {
  return startManager({ dataDir: m.dataDir, port: Number(new URL(m.url).port) });
}

/** The HTTP ListerWatcher, counting lists and recording every error a watch reported. */
function recordingListerWatcher(client: ApiClient) {
  const inner = clientListerWatcher(client, containers);
  const seen = { lists: 0, watchErrors: [] as unknown[] };
  const lw: ListerWatcher = {
    async list(opts) {
      seen.lists++;
      return inner.list(opts);
    },
    async watch(opts, onEvent, onError) {
      try {
        return await inner.watch(opts, onEvent, (err) => {
          seen.watchErrors.push(err);
          onError(err);
        });
      } catch (err) {
        seen.watchErrors.push(err);
        throw err;
      }
    },
  };
  return { lw, seen };
}

function startInformer(lw: ListerWatcher) {
  const inf = createInformer({ listerWatcher: lw, namespace: NS, backoff: { initialMs: 50, maxMs: 500 } });
  informers.add(inf);
  const events = { add: [] as string[], update: [] as string[], delete: [] as string[] };
  inf.on('add', (o) => events.add.push(o.metadata.name));
  inf.on('update', (_old, o) => events.update.push(o.metadata.name));
  inf.on('delete', (o) => events.delete.push(o.metadata.name));
  const stop = () => {
    inf.stop();
    informers.delete(inf);
  };
  return { inf, events, stop };
}

async function startSynced(inf: Informer): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`informer did not sync within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    await Promise.race([inf.start(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read an NDJSON watch body until it ends (or the bounded signal aborts it). */
async function readLines(res: Response): Promise<WatchEvent[]> {
  const text = await res.text();
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as WatchEvent);
}

describe('watch over HTTP from a compacted revision', () => {
  it('answers 410 Expired (HTTP status or ERROR event), while a watch from a retained revision streams', async () => {
    const m = await startManager();
    const first = await create(m, container('early'));
    const oldRv = first.metadata.resourceVersion!;
    await m.stop();

    const store = await openSqliteStore({ path: join(m.dataDir, 'drover.db') });
    let head: string;
    try {
      await store.create(containers.key, container('later'));
      head = await store.revision();
      await store.compact(head);
    } finally {
      await store.close();
    }
    expect(Number(head)).toBeGreaterThan(Number(oldRv));

    const m2 = await restart(m);
    const headers = { authorization: `Bearer ${m2.token}` };
    const res = await fetch(`${m2.url}${collectionPath()}?watch=true&resourceVersion=${oldRv}`, { headers, signal: AbortSignal.timeout(WAIT_MS) });
    let status: Status;
    if (res.status === 410) {
      status = (await res.json()) as Status;
    } else {
      expect(res.status).toBe(200);
      const lines = await readLines(res); // the server ends the stream after the ERROR event
      expect(lines.map((l) => l.type)).toEqual(['ERROR']);
      status = lines[0].object as unknown as Status;
    }
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    expect(status.message).toMatch(/too old resource version/);
    expect(status.message).toContain(oldRv);

    // The same endpoint from the compacted-to revision itself replays normally, then times out cleanly.
    const ok = await fetch(`${m2.url}${collectionPath()}?watch=true&resourceVersion=${head}&timeoutSeconds=1`, { headers, signal: AbortSignal.timeout(WAIT_MS) });
    expect(ok.status).toBe(200);
    expect((await readLines(ok)).filter((l) => l.type === 'ERROR')).toEqual([]);
    await m2.stop();
  });
});

describe('an informer over clientListerWatcher', () => {
  it('sees ADDED, MODIFIED and DELETED made through the API live', async () => {
    const m = await startManager();
    const client = new ApiClient({ server: m.url, token: m.token });
    const { inf, events, stop } = startInformer(clientListerWatcher(client, containers));
    try {
      await startSynced(inf);
      expect(inf.cache.list(NS)).toEqual([]);

      const created = await create(m, container('live-1'));
      await waitFor('add of live-1', () => events.add.includes('live-1'));
      // the container controller may already have written (finalizer, placement): never older than our create
      expect(Number(inf.cache.get(NS, 'live-1')?.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata.resourceVersion));

      const patched = await api(m, 'PATCH', `${collectionPath()}/live-1`, { spec: { image: 'example/agent:2.0' } }, 'application/merge-patch+json');
      expect(patched.status).toBe(200);
      await waitFor('update of live-1', () => events.update.includes('live-1'));
      await waitFor('cache at least as new as the patch', () => Number(inf.cache.get(NS, 'live-1')?.metadata.resourceVersion) >= Number(patched.body.metadata.resourceVersion));
      expect(inf.cache.get(NS, 'live-1')?.spec?.image).toBe('example/agent:2.0');

      const deleted = await api(m, 'DELETE', `${collectionPath()}/live-1`);
      expect(deleted.status).toBe(200);
      await waitFor('delete of live-1', () => events.delete.includes('live-1'));
      expect(inf.cache.get(NS, 'live-1')).toBeUndefined();
      expect(events.add).toEqual(['live-1']);
      expect(events.delete).toEqual(['live-1']);
    } finally {
      stop();
      await m.stop();
    }
  });

  it('after the manager restarts on a compacted store, gets 410, relists and converges to the server list', async () => {
    let m = await startManager();
    for (const name of ['keep', 'modify', 'remove']) await create(m, container(name));
    const client = new ApiClient({ server: m.url, token: m.token });
    const { lw, seen } = recordingListerWatcher(client);
    const { inf, events, stop } = startInformer(lw);
    try {
      await startSynced(inf);
      expect(versions(inf.cache.list(NS))).toEqual(await serverVersions(m));
      expect(events.add.sort()).toEqual(['keep', 'modify', 'remove']);
      const informerRv = inf.lastSyncResourceVersion();
      events.add.length = 0;

      await m.stop();
      // While the manager is down the store moves on and forgets the history the informer would resume from.
      const store = await openSqliteStore({ path: join(m.dataDir, 'drover.db') });
      try {
        for (const name of ['new-1', 'new-2']) await store.create(containers.key, container(name));
        const mod = await store.get(containers.key, NS, 'modify');
        await store.update(containers.key, { ...mod, spec: { ...mod.spec, image: 'example/agent:2.0' } });
        await store.delete(containers.key, NS, 'remove');
        await store.compact(await store.revision());
        expect(store.stats().compactedRevision).toBeGreaterThan(Number(informerRv));
      } finally {
        await store.close();
      }
      m = await restart(m);

      // Compare with a fresh server list each time, so a controller writing meanwhile cannot make this flaky.
      let want: string[] = [];
      await waitFor('the informer cache to equal the server list', async () => {
        want = await serverVersions(m);
        return versions(inf.cache.list(NS)).join() === want.join();
      });
      expect(want.map((v) => v.split('@')[0])).toEqual(['keep', 'modify', 'new-1', 'new-2']);
      expect(inf.cache.get(NS, 'modify')?.spec?.image).toBe('example/agent:2.0');

      expect(seen.watchErrors.some(isGone)).toBe(true);
      expect(seen.lists).toBe(2); // the first sync and one relist after the 410
      expect(events.delete).toEqual(['remove']);
      expect(events.add.sort()).toEqual(['new-1', 'new-2']);
      expect(events.update).toContain('modify');
    } finally {
      stop();
      await m.stop();
    }
  });
});

// What only the SQLite store shows (the shared contract runs in store-contract.test.ts for every backend).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../store/index.ts';
import type { KubeObject, WatchEvent } from '../../core/types.ts';

const AD = 'agentdeployments.drover.dev';
let dir: string;
let n = 0;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'drover-sqlite-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dbPath = () => join(dir, `store-${++n}.db`);
const ad = (name: string, replicas = 1): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name, namespace: 'c1' }, spec: { agentType: 't', replicas },
});

describe('sqlite store specifics', () => {
  it('keeps objects, the revision and the watch history across a reopen', async () => {
    const path = dbPath();
    const s1 = await openSqliteStore({ path });
    const a = await s1.create(AD, ad('a'));
    const b = await s1.create(AD, ad('b'));
    const b2 = await s1.update(AD, { ...b, spec: { replicas: 2 } });
    const gone = await s1.delete(AD, 'c1', 'a');
    const head = await s1.revision();
    await s1.close();

    const s2 = await openSqliteStore({ path });
    expect(await s2.revision()).toBe(head);
    expect(await s2.get(AD, 'c1', 'b')).toEqual(b2);
    const events: WatchEvent[] = [];
    const w = await s2.watch(AD, { resourceVersion: a.metadata.resourceVersion }, (ev) => events.push(ev));
    const c = await s2.create(AD, ad('c'));
    expect(Number(c.metadata.resourceVersion)).toBe(Number(head) + 1);
    expect(events).toEqual([
      { type: 'ADDED', object: b },
      { type: 'MODIFIED', object: b2 },
      { type: 'DELETED', object: gone },
      { type: 'ADDED', object: c },
    ]);
    w.stop();
    await s2.close();
  });

  it('keeps only the last historySize events, also after a reopen', async () => {
    const path = dbPath();
    const s1 = await openSqliteStore({ path, historySize: 5 });
    const revs: string[] = [];
    for (let i = 0; i < 12; i++) revs.push((await s1.create(AD, ad(`o${i}`))).metadata.resourceVersion as string);
    await s1.close();
    const s2 = await openSqliteStore({ path, historySize: 5 });
    // Revisions after revs[6] (5 events) are retained; anything older answers Gone.
    await expect(s2.watch(AD, { resourceVersion: revs[5] }, () => undefined)).rejects.toMatchObject({
      code: 410, message: `too old resource version: ${revs[5]} (${revs[6]})`,
    });
    const events: WatchEvent[] = [];
    const w = await s2.watch(AD, { resourceVersion: revs[6] }, (ev) => events.push(ev));
    expect(events.map((e) => e.object.metadata.name)).toEqual(['o7', 'o8', 'o9', 'o10', 'o11']);
    w.stop();
    expect(s2.stats()).toMatchObject({ objects: 12, watchers: 0, revision: Number(revs[11]) });
    await s2.close();
  });

  it.each([
    ['a numeric field', 'spec.replicas=3', ['three']],
    ['a boolean field', 'spec.paused=true', ['three']],
    ['a string field', 'spec.owner=ann', ['one']],
    ['a value JSON escapes', 'spec.owner=a"b', ['two']],
    ['no match at all', 'spec.owner=zed', []],
  ])('selects by %s (the unparsed-row prefilter never drops a match)', async (_what, fieldSelector, want) => {
    const s = await openSqliteStore({ path: ':memory:' });
    const mk = (name: string, spec: Record<string, unknown>) =>
      s.create('things.drover.dev', { apiVersion: 'drover.dev/v1alpha1', kind: 'Thing', metadata: { name, namespace: 'ns' }, spec });
    await mk('one', { owner: 'ann', replicas: 1, paused: false });
    await mk('two', { owner: 'a"b', replicas: 2 });
    await mk('three', { owner: 'bob', replicas: 3, paused: true });
    const r = await s.list('things.drover.dev', { fieldSelector });
    expect(r.items.map((o) => o.metadata.name)).toEqual(want);
    await s.close();
  });

  it('close() stops watchers', async () => {
    const s = await openSqliteStore({ path: ':memory:' });
    const events: WatchEvent[] = [];
    await s.watch(AD, { bookmarkIntervalMs: 10 }, (ev) => events.push(ev));
    expect(s.stats().watchers).toBe(1);
    await s.close();
    const before = events.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(events.length).toBe(before);
    await expect(s.create(AD, ad('late'))).rejects.toThrow(/closed/);
  });

  it('uses the injected clock for creation and deletion timestamps', async () => {
    const s = await openSqliteStore({ path: ':memory:', clock: () => Date.parse('2030-05-06T07:08:09.876Z') });
    const o = await s.create(AD, { ...ad('x'), metadata: { name: 'x', namespace: 'c1', finalizers: ['f'] } });
    expect(o.metadata.creationTimestamp).toBe('2030-05-06T07:08:09Z');
    expect((await s.delete(AD, 'c1', 'x')).metadata.deletionTimestamp).toBe('2030-05-06T07:08:09Z');
    await s.close();
  });
});

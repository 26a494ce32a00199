// `drover admin migrate-store|backup|restore` with the real CLI: a SQLite store with a few hundred
// objects of several kinds (updated, finalized, deleting, with status) moves to a real etcd and back,
// and through a backup file; every object keeps its uid, creationTimestamp, generation and the order of
// its revision, and the API tokens and node credentials keep working.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEtcdStore, openSqliteStore } from '../../store/index.ts';
import type { TransferableStore, StoredObject } from '../../store/transfer.ts';
import { openTokenStore } from '../../api/auth.ts';
import { openEtcdTokenStore } from '../../api/etcd-token-store.ts';
import type { KubeObject } from '../../core/types.ts';
import { drover, tempDir, cleanup } from '../helpers/processes.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

const G = 'drover.dev/v1alpha1';
let etcd: EtcdCluster;
let dir: string;
let original: StoredObject[];
const tokens: { viewer?: string; node?: string } = {};
const cli = (args: string[]) => drover(['admin', ...args], { config: join(dir, 'no-config'), timeoutMs: 120_000 });

/** Objects by key with resourceVersion removed, and the keys in revision order. */
function shape(objects: StoredObject[]): { byKey: Map<string, KubeObject>; order: string[] } {
  const key = (o: StoredObject) => `${o.resource}/${o.object.metadata.namespace ?? ''}/${o.object.metadata.name}`;
  const sorted = [...objects].sort((a, b) => Number(a.object.metadata.resourceVersion) - Number(b.object.metadata.resourceVersion));
  const byKey = new Map<string, KubeObject>();
  for (const o of sorted) {
    const { resourceVersion: _rv, ...metadata } = o.object.metadata;
    byKey.set(key(o), { ...o.object, metadata });
  }
  return { byKey, order: sorted.map(key) };
}

function expectSameObjects(got: StoredObject[], want: StoredObject[]): void {
  const g = shape(got);
  const w = shape(want);
  expect(g.order).toEqual(w.order);
  for (const [k, obj] of w.byKey) expect([k, g.byKey.get(k)]).toEqual([k, obj]);
}

async function exportOf(store: Promise<TransferableStore>): Promise<StoredObject[]> {
  const s = await store;
  try {
    return await s.exportObjects();
  } finally {
    await s.close();
  }
}

const etcdStore = (prefix = '/drover/') => openEtcdStore({ endpoints: etcd.endpoints, prefix, compactIntervalMs: 0 });

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 1, name: 'migrate' });
  dir = tempDir('drover-migrate-');
  const s = await openSqliteStore({ path: join(dir, 'drover.db') });
  const ns = ['alpha', 'beta', 'gamma'];
  for (const c of ns) await s.create(`clusters.${G.split('/')[0]}`, { apiVersion: G, kind: 'Cluster', metadata: { name: c, labels: { tier: c } }, spec: { placement: { strategy: 'Spread' } } });
  for (let i = 0; i < 120; i++) {
    const d = await s.create('agentdeployments.drover.dev', { apiVersion: G, kind: 'AgentDeployment', metadata: { name: `ad-${i}`, namespace: ns[i % 3], labels: { i: String(i) } }, spec: { agentType: 'trading', replicas: 1 } });
    if (i % 4 === 0) await s.update('agentdeployments.drover.dev', { ...d, spec: { agentType: 'trading', replicas: 3 } });
    if (i % 5 === 0) await s.update('agentdeployments.drover.dev', { ...(await s.get('agentdeployments.drover.dev', ns[i % 3], `ad-${i}`)), status: { replicas: 1, observedGeneration: 1 } });
  }
  for (let i = 0; i < 100; i++) {
    await s.create('containers.drover.dev', {
      apiVersion: G, kind: 'Container', metadata: { name: `c-${i}`, namespace: ns[i % 3], ...(i % 10 === 0 ? { finalizers: ['drover.dev/cleanup'] } : {}) },
      spec: { image: 'busybox', command: ['sleep', '1'] },
    });
  }
  // Deleting but held by a finalizer: the deletionTimestamp must survive the move.
  for (let i = 0; i < 100; i += 20) await s.delete('containers.drover.dev', ns[i % 3], `c-${i}`);
  for (let i = 0; i < 90; i++) await s.create('events.drover.dev', { apiVersion: G, kind: 'Event', metadata: { generateName: 'ev-', name: '', namespace: 'alpha' }, reason: 'Scheduled', message: `event ${i}` });
  // Objects deleted before the move are not moved.
  for (let i = 1; i < 10; i++) await s.delete('agentdeployments.drover.dev', ns[i % 3], `ad-${i}`);
  original = await s.exportObjects();
  await s.close();
  const t = openTokenStore(dir);
  tokens.viewer = t.create({ role: 'viewer', name: 'v' }).token;
  tokens.node = t.create({ role: 'node', cluster: 'alpha', node: 'n1', name: 'n1', prefix: 'drvn_', ttlMs: 3600_000 }).token;
}, 120_000);

afterAll(async () => {
  await cleanup();
  await etcd?.stop();
});

describe('drover admin migrate-store', () => {
  it('moves every object, token and the node-credential key from SQLite to etcd, in revision order', async () => {
    expect(original.length).toBeGreaterThan(300);
    const r = await cli(['migrate-store', '--from', `sqlite:${dir}`, '--to', `etcd:${etcd.endpoints.join(',')}`]);
    expect(r.stderr).toContain(`read ${original.length} objects from sqlite:${join(dir, 'drover.db')}`);
    expect(r.stderr).toMatch(/copied 300\/\d+ objects/);
    expect(r.stdout).toBe(`migrated ${original.length} objects and 2 API tokens\n`);
    expect(r.code).toBe(0);
    expectSameObjects(await exportOf(etcdStore()), original);

    const s = await etcdStore();
    try {
      const t = await openEtcdTokenStore({ client: s.client, keys: s.keys });
      expect(t.authenticate(tokens.viewer!)).toMatchObject({ role: 'viewer', name: 'v' });
      // Signed by the key that moved along: the node keeps its credential.
      expect(t.authenticate(tokens.node!)).toMatchObject({ role: 'node', node: 'n1', cluster: 'alpha' });
      await t.close();
    } finally {
      await s.close();
    }
  }, 120_000);

  it('refuses a target that holds objects unless --force', async () => {
    const r = await cli(['migrate-store', '--from', `sqlite:${dir}`, '--to', `etcd:${etcd.endpoints[0]}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already holds \d+ objects/);
    expect(r.stderr).toContain('--force');
    const forced = await cli(['migrate-store', '--from', `sqlite:${dir}`, '--to', `etcd:${etcd.endpoints[0]}`, '--force']);
    expect(forced.code).toBe(0);
  }, 120_000);

  it('moves them back from etcd to a new SQLite file, with the tokens', async () => {
    const back = tempDir('drover-migrate-back-');
    const r = await cli(['migrate-store', '--from', `etcd:${etcd.endpoints[0]}`, '--to', `sqlite:${join(back, 'drover.db')}`]);
    expect(r.stdout).toBe(`migrated ${original.length} objects and 2 API tokens\n`);
    expect(r.code).toBe(0);
    expectSameObjects(await exportOf(openSqliteStore({ path: join(back, 'drover.db') })), original);
    const t = openTokenStore(back);
    expect(t.authenticate(tokens.viewer!)?.role).toBe('viewer');
    expect(t.authenticate(tokens.node!)?.node).toBe('n1');
    expect(statSync(join(back, 'tokens.json')).mode & 0o777).toBe(0o600);
  }, 120_000);
});

describe('drover admin backup and restore', () => {
  it('backs up etcd to a JSON-lines file and restores it into another etcd prefix and into SQLite', async () => {
    const file = join(dir, 'backup.jsonl');
    const b = await cli(['backup', '--store', `etcd:${etcd.endpoints[0]}`, '--out', file]);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(`backed up ${original.length} objects and 2 API tokens\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0])).toMatchObject({ kind: 'DroverBackup', version: 1, objects: original.length });
    expect(lines).toHaveLength(original.length + 2);

    const r1 = await cli(['restore', '--store', `etcd:${etcd.endpoints[0]}`, '--etcd-prefix', '/restored/', '--in', file]);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toBe(`restored ${original.length} objects and 2 API tokens\n`);
    expect(r1.stderr).toMatch(/restored 100\/\d+ objects/);
    expectSameObjects(await exportOf(etcdStore('/restored/')), original);
    const s = await etcdStore('/restored/');
    try {
      // Restored objects behave as before: removing the finalizer releases an object being deleted.
      const held = await s.get('containers.drover.dev', 'alpha', 'c-0');
      expect(held.metadata.deletionTimestamp).toBeDefined();
      await s.update('containers.drover.dev', { ...held, metadata: { ...held.metadata, finalizers: [] } });
      await expect(s.get('containers.drover.dev', 'alpha', 'c-0')).rejects.toMatchObject({ code: 404 });
    } finally {
      await s.close();
    }

    const target = tempDir('drover-restore-');
    const r2 = await cli(['restore', '--store', `sqlite:${target}`, '--in', file]);
    expect(r2.code).toBe(0);
    expectSameObjects(await exportOf(openSqliteStore({ path: join(target, 'drover.db') })), original);

    const again = await cli(['restore', '--store', `sqlite:${target}`, '--in', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds/);
  }, 120_000);

  it('refuses a file that is not a backup, and reports a truncated one', async () => {
    const junk = join(dir, 'junk.jsonl');
    writeFileSync(junk, 'hello\n');
    const r = await cli(['restore', '--store', `sqlite:${tempDir('drover-junk-')}`, '--in', junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a drover backup');
    const full = readFileSync(join(dir, 'backup.jsonl'), 'utf8').split('\n');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, full.slice(0, 11).join('\n') + '\n');
    const t = await cli(['restore', '--store', `sqlite:${tempDir('drover-cut-')}`, '--in', cut]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/truncated: its header promises \d+ objects, it holds 10/);
  }, 60_000);

  it('explains a malformed store spec', async () => {
    const r = await cli(['backup', '--store', 'mysql:x', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--store must be sqlite:PATH or etcd:http://HOST:PORT');
  });
});

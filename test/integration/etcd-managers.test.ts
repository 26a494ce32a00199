// Two real managers on one real etcd (`drover manager --store etcd`): they serve the same objects,
// and API tokens, join tokens and node credentials made through one work on the other (the token
// store is in etcd too). Leader election (which manager runs controllers) is tested elsewhere.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startManager, api, eventually, cleanup, REPO, type ManagerProcess } from '../helpers/processes.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

const G = '/apis/drover.dev/v1alpha1';
let etcd: EtcdCluster;
let a: ManagerProcess;
let b: ManagerProcess;

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 1, name: 'managers' });
  const args = ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')];
  a = await startManager({ extraArgs: args });
  b = await startManager({ extraArgs: args });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cleanup();
  await etcd?.stop();
});

describe('drover manager --store etcd', () => {
  it('keeps objects in etcd, not in the data dir, and both managers serve them', async () => {
    expect(existsSync(join(a.dataDir, 'drover.db'))).toBe(false);
    expect(existsSync(join(a.dataDir, 'tokens.json'))).toBe(false);
    const made = await api(a, 'POST', `${G}/clusters`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shared' }, spec: {} });
    expect(made.status).toBe(201);
    const seen = await api(b, 'GET', `${G}/clusters/shared`);
    expect(seen.status).toBe(200);
    expect(seen.body.metadata.uid).toBe(made.body.metadata.uid);
    // The default Cluster was created once, by whichever manager came first.
    expect((await api(b, 'GET', `${G}/clusters/default`)).status).toBe(200);
  });

  it('an API token made on one manager works on the other, and a revocation on either stops it on both', async () => {
    const made = await api(a, 'POST', '/api/v1/tokens', { role: 'viewer', name: 'shared-viewer', ttl: '1h' });
    expect(made.status).toBe(201);
    const viewer = { url: b.url, token: made.body.token as string };
    expect((await api(viewer, 'GET', `${G}/clusters`)).status).toBe(200);
    expect((await api(viewer, 'POST', `${G}/clusters`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'nope' }, spec: {} })).status).toBe(403);
    expect((await api(b, 'DELETE', `/api/v1/tokens/${made.body.id}`)).status).toBe(200);
    await eventually('manager A refuses the revoked token', async () => (await api({ url: a.url, token: viewer.token }, 'GET', `${G}/clusters`)).status === 401, 10_000);
  });

  it('a node joins through one manager and its credential is accepted by the other', async () => {
    const jt = await api(a, 'POST', '/api/v1/clusters/shared/join-tokens', {});
    expect(jt.status).toBe(201);
    const joined = await fetch(`${b.url}/api/v1/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: jt.body.token, nodeName: 'n1' }) });
    expect(joined.status).toBe(201);
    const { credential } = (await joined.json()) as { credential: string };
    // Authenticated (signed with the signing key both managers share): its own Node is just not there yet.
    const r = await api({ url: a.url, token: credential }, 'GET', `${G}/namespaces/shared/nodes/n1`);
    expect(r.status).toBe(404);
  });

  it('refuses to start when etcd does not answer, saying where it looked', () => {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'manager', '--listen', '127.0.0.1:0',
      '--data-dir', join(a.dataDir, 'nope'), '--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:9'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/cannot open the etcd store at http:\/\/127.0.0.1:9/);
  });

  it('rejects --etcd-endpoints without --store etcd', () => {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'manager', '--etcd-endpoints', 'http://127.0.0.1:9'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--etcd-endpoints needs --store etcd/);
  });
});

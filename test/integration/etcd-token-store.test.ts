// The etcd TokenStore that managers sharing an etcd use: what one manager creates, revokes or shortens
// reaches the others, and the node-credential signing key is made once and shared.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import { openEtcdTokenStore, type EtcdTokenStore } from '../../api/etcd-token-store.ts';
import { EtcdKeys } from '../../store/etcd-keys.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

let etcd: EtcdCluster;
let client: Etcd3;
const opened: EtcdTokenStore[] = [];
let n = 0;

async function pair(now = Date.now): Promise<[EtcdTokenStore, EtcdTokenStore, EtcdKeys]> {
  const keys = new EtcdKeys(`/tokens-${++n}/`);
  const a = await openEtcdTokenStore({ client, keys, now });
  const b = await openEtcdTokenStore({ client, keys, now });
  opened.push(a, b);
  return [a, b, keys];
}

async function eventually(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 1, name: 'tokens' });
  client = new Etcd3({ hosts: etcd.endpoints });
}, 30_000);

afterAll(async () => {
  for (const t of opened) await t.close();
  client?.close();
  await etcd?.stop();
});

describe('etcd token store', () => {
  it('a token made on one manager authenticates on the other; revoking it on either ends it on both', async () => {
    const [a, b] = await pair();
    const { token, id } = a.create({ role: 'operator', cluster: 'c1', name: 'ops' });
    await a.flush();
    await eventually('b knows the token', () => b.authenticate(token) !== undefined);
    expect(b.authenticate(token)).toEqual({ name: 'ops', role: 'operator', cluster: 'c1' });
    expect(b.list().map((t) => t.id)).toEqual([id]);
    expect(b.revoke(id)).toBe(true);
    await b.flush();
    await eventually('a forgets the token', () => a.authenticate(token) === undefined);
    expect(a.list()).toEqual([]);
    expect(a.revoke(id)).toBe(false);
  });

  it('shares one node-credential signing key, made by the first store', async () => {
    const [a, b, keys] = await pair();
    const node = a.create({ role: 'node', cluster: 'c1', node: 'n1', name: 'n1', prefix: 'drvn_', ttlMs: 60_000 });
    await a.flush();
    await eventually('b knows the credential', () => b.authenticate(node.token) !== undefined);
    expect(b.authenticate(node.token)).toMatchObject({ role: 'node', node: 'n1', cluster: 'c1' });
    expect((await client.getAll().prefix(keys.auth('')).keys()).sort()).toEqual([keys.auth('node-credential-key'), keys.auth(`tokens/${node.id}`)]);
    // A forged signature is refused before any lookup.
    expect(b.authenticate(node.token.slice(0, -2) + 'xx')).toBeUndefined();
  });

  it('expireBy and revokeWhere reach the other manager; expired records are dropped as new ones come', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const [a, b] = await pair(() => clock);
    const old = a.create({ role: 'viewer', name: 'old', ttlMs: 1000 });
    const keep = a.create({ role: 'viewer', name: 'keep' });
    a.expireBy(keep.id, clock + 500);
    await a.flush();
    await eventually('b sees the shortened expiry', () => b.list().find((t) => t.id === keep.id)?.expiresAt === new Date(clock + 500).toISOString());
    clock += 2000;
    expect(b.authenticate(old.token)).toBeUndefined();
    b.create({ role: 'viewer', name: 'new' });
    await b.flush();
    await eventually('expired records gone on a', () => a.list().map((t) => t.name).join() === 'new');
    expect(a.revokeWhere((t) => t.name === 'new')).toBe(1);
    await a.flush();
    await eventually('b has none', () => b.list().length === 0);
  });
});

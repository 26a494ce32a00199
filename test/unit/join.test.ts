// Join tokens and POST /api/v1/join against the in-process API with a real TokenStore.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTokenStore, staticAuthenticator } from '../../api/auth.ts';
import type { TokenStore } from '../../api/auth.ts';
import { BASE, TOKENS, cluster, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';

let h: Harness;
let tokens: TokenStore;
let dir: string;

const nodeObj = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name }, spec: { labels: { zone: 'z1' } } });

async function newJoinToken(body: Record<string, unknown> = {}): Promise<{ name: string; token: string; expires?: string }> {
  const r = await h.call('POST', '/api/v1/clusters/demo/join-tokens', body);
  expect(r.status).toBe(201);
  return r.body;
}

const joinWith = (token: string, nodeName: string) => h.call('POST', '/api/v1/join', { token, nodeName }, { token: null });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drover-join-'));
  tokens = openTokenStore(dir);
  const fixed = staticAuthenticator({
    [TOKENS.admin]: { name: 'alice', role: 'admin' },
    [TOKENS.viewer]: { name: 'victor', role: 'viewer' },
    [TOKENS.demoOperator]: { name: 'olga', role: 'operator', cluster: 'demo' },
    'other-operator-token': { name: 'oscar', role: 'operator', cluster: 'other' },
  });
  h = await startApi({ tokens, authenticator: { authenticate: (t) => fixed.authenticate(t) ?? tokens.authenticate(t) } });
  const c = cluster('demo');
  c.spec = { failurePolicy: { heartbeatInterval: '3s', gracePeriod: '15s' } };
  expect((await h.call('POST', `${BASE}/clusters`, c)).status).toBe(201);
});

afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('join tokens', () => {
  it('are made by the server, shown once, and stored only as a hash with an expiry', async () => {
    const before = Date.now();
    const created = await newJoinToken({ description: 'rack 4' });
    expect(created.token).toMatch(/^drvj_[A-Za-z0-9_-]{40,}$/);
    expect(created.name).toMatch(/^join-[a-z0-9]{6}$/);
    const ttl = Date.parse(created.expires!) - before;
    expect(ttl).toBeGreaterThan(24 * 3600_000 - 5000);
    expect(ttl).toBeLessThan(24 * 3600_000 + 5000);
    const c = await h.call('GET', `${BASE}/clusters/demo`);
    expect(c.text).not.toContain(created.token.slice(5));
    expect(c.body.spec.joinTokens).toContainEqual({ name: created.name, tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/), description: 'rack 4', expires: created.expires });
    const list = await h.call('GET', '/api/v1/clusters/demo/join-tokens');
    expect(list.body.items).toContainEqual({ name: created.name, description: 'rack 4', expires: created.expires, expired: false });
  });

  it.each([
    ['a viewer', TOKENS.viewer, 403],
    ['an operator of another Cluster', 'other-operator-token', 403],
    ['nobody', null, 401],
  ])('%s cannot create one', async (_who, token, code) => {
    const r = await h.call('POST', '/api/v1/clusters/demo/join-tokens', {}, { token });
    expect(r.status).toBe(code);
    expect(r.body.kind).toBe('Status');
  });

  it('an operator may not manage join tokens (they are the admins\')', async () => {
    const r = await h.call('POST', '/api/v1/clusters/demo/join-tokens', { name: 'by-olga' }, { token: TOKENS.demoOperator });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('operators may not manage Clusters or their join tokens');
  });

  it('ttl 0 never expires; a bad ttl is a 400; a missing Cluster is a 404', async () => {
    const forever = await newJoinToken({ ttl: '0', name: 'forever' });
    expect(forever.expires).toBeUndefined();
    expect((await h.call('POST', '/api/v1/clusters/demo/join-tokens', { ttl: 'soon' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/clusters/nope/join-tokens', {})).status).toBe(404);
    expect((await h.call('POST', '/api/v1/clusters/demo/join-tokens', { name: 'forever' })).status).toBe(409);
  });
});

describe('POST /api/v1/join: a live node\'s name cannot be taken over', () => {
  it('409 while the Node heartbeats within the grace period; free again once its agent said it stopped', async () => {
    const { token } = await newJoinToken();
    expect((await h.call('POST', `${BASE}/namespaces/demo/nodes`, nodeObj('busy'))).status).toBe(201);
    expect((await h.call('PATCH', `${BASE}/namespaces/demo/nodes/busy/status`, { status: { lastHeartbeatTime: new Date().toISOString() } }, { contentType: 'application/merge-patch+json' })).status).toBe(200);
    const r = await joinWith(token, 'busy');
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/node "busy" in cluster "demo" is alive \(last heartbeat \d+s ago\): stop that agent, wait \d+s, or delete the Node/);
    expect(tokens.list().some((t) => t.node === 'busy')).toBe(false);
    const stopped = { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'AgentStopped', message: 'stopped', lastTransitionTime: new Date().toISOString() }] } };
    expect((await h.call('PATCH', `${BASE}/namespaces/demo/nodes/busy/status`, stopped, { contentType: 'application/merge-patch+json' })).status).toBe(200);
    expect((await joinWith(token, 'busy')).status).toBe(201);
  });
});

describe('POST /api/v1/join', () => {
  it('trades a join token for a node credential that works as that node only', async () => {
    const { token } = await newJoinToken();
    const r = await joinWith(token, 'node-a');
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      nodeName: 'node-a', namespace: 'demo', credential: expect.stringMatching(/^drvn_/),
      cluster: { heartbeatInterval: '3s', gracePeriod: '15s' }, expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const cred = r.body.credential as string;
    expect(tokens.list()).toContainEqual(expect.objectContaining({ role: 'node', cluster: 'demo', node: 'node-a' }));

    expect((await h.call('GET', `${BASE}/namespaces/demo/nodes/node-a`, undefined, { token: cred })).status).toBe(404);
    expect((await h.call('POST', `${BASE}/namespaces/demo/nodes`, nodeObj('node-a'), { token: cred })).status).toBe(201);
    const hb = await h.call('PATCH', `${BASE}/namespaces/demo/nodes/node-a/status`, { status: { lastHeartbeatTime: new Date().toISOString() } }, { token: cred });
    expect(hb.status).toBe(200);
    const other = await h.call('POST', `${BASE}/namespaces/demo/nodes`, nodeObj('node-b'), { token: cred });
    expect(other.status).toBe(403);
    const tasks = await h.call('GET', `${BASE}/namespaces/demo/tasks`, undefined, { token: cred });
    expect(tasks.status).toBe(403);
    expect(tasks.body.message).toBe('node "node-a" cannot list tasks.drover.dev in namespace "demo" without fieldSelector spec.nodeName=node-a');
    const own = await h.call('GET', `${BASE}/namespaces/demo/tasks?fieldSelector=spec.nodeName%3Dnode-a`, undefined, { token: cred });
    expect(own.status).toBe(200);
  });

  it.each([
    ['garbage', () => Promise.resolve('not-a-token')],
    ['an unknown join token', () => Promise.resolve('drvj_' + 'x'.repeat(43))],
    ['a node credential', async () => (await joinWith((await newJoinToken()).token, 'node-x')).body.credential as string],
  ])('refuses %s with 401 and a message that does not say why', async (_what, make) => {
    const r = await joinWith(await make(), 'node-c');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized: invalid or expired join token' });
  });

  it('refuses a revoked join token', async () => {
    const jt = await newJoinToken();
    const del = await h.call('DELETE', `/api/v1/clusters/demo/join-tokens/${jt.name}`);
    expect(del.status).toBe(200);
    expect((await joinWith(jt.token, 'node-c')).status).toBe(401);
    expect((await h.call('DELETE', `/api/v1/clusters/demo/join-tokens/${jt.name}`)).status).toBe(404);
  });

  it('refuses an expired join token', async () => {
    const jt = await newJoinToken({ name: 'short' });
    const c = await h.call('GET', `${BASE}/clusters/demo`);
    const joinTokens = c.body.spec.joinTokens.map((t: { name: string }) => (t.name === 'short' ? { ...t, expires: '2020-01-01T00:00:00Z' } : t));
    expect((await h.call('PATCH', `${BASE}/clusters/demo`, { spec: { joinTokens } })).status).toBe(200);
    expect((await joinWith(jt.token, 'node-c')).status).toBe(401);
    const list = await h.call('GET', '/api/v1/clusters/demo/join-tokens');
    expect(list.body.items).toContainEqual(expect.objectContaining({ name: 'short', expired: true }));
  });

  it('re-joining the same node revokes its previous credential', async () => {
    const { token } = await newJoinToken();
    const first = (await joinWith(token, 'node-r')).body.credential as string;
    const second = (await joinWith(token, 'node-r')).body.credential as string;
    expect(second).not.toBe(first);
    const path = `${BASE}/namespaces/demo/nodes?fieldSelector=metadata.name%3Dnode-r`;
    expect((await h.call('GET', path, undefined, { token: first })).status).toBe(401);
    expect((await h.call('GET', path, undefined, { token: second })).status).toBe(200);
    expect(tokens.list().filter((t) => t.node === 'node-r')).toHaveLength(1);
  });

  it.each([
    ['Node_A', 422],
    ['', 422],
    ['-a', 422],
  ])('validates the node name %j', async (nodeName, code) => {
    const { token } = await newJoinToken();
    const r = await joinWith(token, nodeName);
    expect(r.status).toBe(code);
    expect(r.body.details.causes[0].field).toBe('nodeName');
  });

  it('a body that is not JSON is a 400', async () => {
    const r = await h.call('POST', '/api/v1/join', undefined, { token: null, rawBody: 'token=x', contentType: 'application/json' });
    expect(r.status).toBe(400);
  });
});

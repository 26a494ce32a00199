// Node identity end to end with the real manager process and the real CLI: a join token from
// `drover token create --join`, a node credential from POST /api/v1/join, NodeRestriction, logs.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startManager, drover, droverStream, api, cleanup, type ManagerProcess } from '../helpers/processes.ts';

const BASE = '/apis/drover.dev/v1alpha1/namespaces/default';
let m: ManagerProcess;
let joinToken: string;
let cred: string;
const run = (args: string[]) => drover(args, { config: m.configPath });
const asNode = (method: string, path: string, body?: unknown, contentType?: string) => api({ url: m.url, token: cred }, method, path, body, contentType);

beforeAll(async () => {
  m = await startManager();
}, 60_000);
afterAll(cleanup);

describe('joining a node', () => {
  it('drover token create --join prints only the token', async () => {
    const r = await run(['token', 'create', '--join', '--cluster', 'default', '--ttl', '1h', '--description', 'e2e']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^drvj_\S+\n$/);
    expect(r.stderr).toMatch(/for cluster "default" expires /);
    joinToken = r.stdout.trim();
    const list = await run(['token', 'list', '--join', '--cluster', 'default']);
    expect(list.stdout).toMatch(/^NAME\s+EXPIRES\s+USES\s+STATUS\s+DESCRIPTION$/m);
    expect(list.stdout).toMatch(/^join-[a-z0-9]{6}\s+\S+Z\s+\d+\/-\s+valid\s+e2e$/m);
    expect(list.stdout).not.toContain(joinToken.slice(5));
  });

  it('the join token buys a node credential (no bearer token needed)', async () => {
    const r = await fetch(`${m.url}/api/v1/join`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: joinToken, nodeName: 'node-a', labels: { zone: 'z1' } }),
    });
    expect(r.status).toBe(201);
    const body = await r.json() as { nodeName: string; namespace: string; credential: string; cluster: unknown };
    expect(body).toMatchObject({ nodeName: 'node-a', namespace: 'default', cluster: { heartbeatInterval: '2s', gracePeriod: '10s' } });
    cred = body.credential;
    expect(cred).toMatch(/^drvn_/);
  });

  it('the credential creates its own Node and heartbeats its status; an admin sees the Node', async () => {
    const node = { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: 'node-a', labels: { zone: 'z1' } }, spec: { labels: { zone: 'z1' } } };
    expect((await asNode('POST', `${BASE}/nodes`, node)).status).toBe(201);
    const hb = await asNode('PATCH', `${BASE}/nodes/node-a/status`, {
      status: { lastHeartbeatTime: new Date().toISOString(), conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }] },
    }, 'application/merge-patch+json');
    expect(hb.status).toBe(200);
    const got = await run(['get', 'nodes', '-n', 'default']);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^node-a\s+True\b/m);
  });

  it.each([
    ['list all tasks', 'GET', `${BASE}/tasks`, undefined, 'node "node-a" cannot list tasks.drover.dev in namespace "default" without fieldSelector spec.nodeName=node-a'],
    ['list another node\'s tasks', 'GET', `${BASE}/tasks?fieldSelector=spec.nodeName%3Dnode-b`, undefined, 'without fieldSelector spec.nodeName=node-a'],
    ['watch another node\'s tasks', 'GET', `${BASE}/tasks?watch=true&fieldSelector=spec.nodeName%3Dnode-b`, undefined, 'cannot watch tasks.drover.dev'],
    ['create a Container', 'POST', `${BASE}/containers`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'evil' }, spec: { command: ['sh'] } }, 'node "node-a" cannot create containers.drover.dev in namespace "default"'],
    ['create another Node', 'POST', `${BASE}/nodes`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: 'node-b' }, spec: {} }, 'other than its own Node "node-a"'],
    ['delete its Node', 'DELETE', `${BASE}/nodes/node-a`, undefined, 'may not delete Nodes'],
  ])('the credential gets 403 when it tries to %s', async (_what, method, path, body, message) => {
    const r = await asNode(method, path, body);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(r.body.message).toContain(message);
  });

  it('the credential gets 403 on a Task of another node, but reads its own', async () => {
    const task = (name: string, nodeName: string) => ({
      apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name }, spec: { type: 'restart', target: { kind: 'Container', name: 'web' }, nodeName },
    });
    expect((await api(m, 'POST', `${BASE}/tasks`, task('other-task', 'node-b'))).status).toBe(201);
    expect((await api(m, 'POST', `${BASE}/tasks`, task('own-task', 'node-a'))).status).toBe(201);
    const other = await asNode('GET', `${BASE}/tasks/other-task`);
    expect(other.status).toBe(403);
    expect(other.body.message).toContain('that is not bound to it (bound to "node-b")');
    const own = await asNode('GET', `${BASE}/tasks?fieldSelector=spec.nodeName%3Dnode-a`);
    expect(own.status).toBe(200);
    expect(own.body.items.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['own-task']);
  });

  it('a revoked join token no longer joins, and the node credential keeps working', async () => {
    const list = await run(['token', 'list', '--join', '--cluster', 'default']);
    const name = /^(join-[a-z0-9]{6})\s/m.exec(list.stdout)![1];
    const revoke = await run(['token', 'revoke', name, '--join', '--cluster', 'default']);
    expect(revoke.stdout).toBe(`join token "${name}" revoked\n`);
    const r = await fetch(`${m.url}/api/v1/join`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: joinToken, nodeName: 'node-c' }),
    });
    expect(r.status).toBe(401);
    expect((await asNode('GET', `${BASE}/nodes/node-a`)).status).toBe(200);
  });
});

describe('container logs', () => {
  it('the node ships output of its container; drover logs prints it, with --tail and -f', async () => {
    const ctr = { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'web' }, spec: { command: ['sleep', '600'], nodeName: 'node-a' } };
    expect((await api(m, 'POST', `${BASE}/containers`, ctr)).status).toBe(201);
    // bind it as the container controller would (the admin may write status)
    expect((await api(m, 'PATCH', `${BASE}/containers/web/status`, { status: { nodeName: 'node-a' } }, 'application/merge-patch+json')).status).toBe(200);
    const ship = (text: string) => fetch(`${m.url}${BASE}/containers/web/log`, { method: 'POST', headers: { authorization: `Bearer ${cred}`, 'content-type': 'text/plain' }, body: text });
    expect((await ship('hello\nworld\n')).status).toBe(204);

    const all = await run(['logs', 'container/web', '-n', 'default']);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('hello\nworld\n');
    expect((await run(['logs', 'web', '--tail', '1'])).stdout).toBe('world\n');

    const follow = droverStream(['logs', 'container/web', '-f', '--tail', '0'], { config: m.configPath });
    // the follower connects at some point after it starts: keep shipping until it shows output
    let n = 0;
    const shipping = setInterval(() => void ship(`live line ${++n}\n`), 200);
    try {
      await follow.waitFor(/live line \d+\n/, 20_000);
    } finally {
      clearInterval(shipping);
    }
    // --tail 0: only what arrived after it connected, nothing from before
    expect(follow.stdout()).toMatch(/^(live line \d+\n)+$/);
    expect(await follow.stop()).toBe(0);

    const missing = await run(['logs', 'container/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });
});

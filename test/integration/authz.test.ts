// Issue 6 from outside: tokens made with the real CLI against a real manager, and a role × verb × scope
// table of what each may do; expiry, revocation, single-use join tokens, node credential renewal, and a
// deleted Node's credential stopping at once.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, startNodeAgent, drover, api, eventually, sleep, cleanup, type ManagerProcess, type AgentProcess } from '../helpers/processes.ts';

let m: ManagerProcess;
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const G = '/apis/drover.dev/v1alpha1';
const tokens: Record<string, string> = {};

async function makeToken(role: string, cluster?: string, ttl = '1h'): Promise<string> {
  const r = await run(['token', 'create', '--role', role, ...(cluster ? ['--cluster', cluster] : []), '--ttl', ttl, '--description', `authz ${role}`]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^drv_\S+\n$/);
  return r.stdout.trim();
}

const as = (who: string) => ({ url: m.url, token: tokens[who] });
const container = (ns: string, name: string) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: ns }, spec: { command: ['sleep', '1'], state: 'Stopped' } });

beforeAll(async () => {
  m = await startManager({ extraArgs: ['--node-credential-ttl', '6s'] });
  for (const c of ['alpha', 'beta']) {
    expect((await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${c}}\nspec:\n  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 4s}\n`)).code).toBe(0);
    expect((await api(m, 'POST', `${G}/namespaces/${c}/containers`, container(c, 'fixed'))).status).toBe(201);
  }
  tokens.admin = m.token;
  tokens.operator = await makeToken('operator');
  tokens.viewer = await makeToken('viewer');
  tokens.operatorAlpha = await makeToken('operator', 'alpha');
  tokens.viewerAlpha = await makeToken('viewer', 'alpha');
  tokens.adminAlpha = await makeToken('admin', 'alpha');
}, 60_000);

afterAll(async () => {
  await cleanup();
});

type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
const VERBS: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const WHO = ['admin', 'operator', 'viewer', 'adminAlpha', 'operatorAlpha', 'viewerAlpha'] as const;

/** The rules of issue 6, written down once: may `who` do `verb` on Containers in namespace `ns`? */
function expected(who: string, verb: Verb, ns: string): boolean {
  const bound = who.endsWith('Alpha') ? 'alpha' : undefined;
  if (bound && ns !== bound) return false;
  if (who.startsWith('viewer')) return verb === 'get' || verb === 'list' || verb === 'watch';
  return true;
}

let seq = 0;
async function attempt(who: string, verb: Verb, ns: string): Promise<number> {
  const base = `${G}/namespaces/${ns}/containers`;
  const name = `t-${++seq}`;
  // a victim for the writes that need one, made by the admin
  if (verb === 'update' || verb === 'delete' || verb === 'patch') expect((await api(m, 'POST', base, container(ns, name))).status).toBe(201);
  switch (verb) {
    case 'get': return (await api(as(who), 'GET', `${base}/fixed`)).status;
    case 'list': return (await api(as(who), 'GET', base)).status;
    case 'watch': {
      const ctl = new AbortController();
      const r = await fetch(`${m.url}${base}?watch=1&timeoutSeconds=1`, { headers: { authorization: `Bearer ${tokens[who]}` }, signal: ctl.signal });
      ctl.abort();
      return r.status;
    }
    case 'create': return (await api(as(who), 'POST', base, container(ns, name))).status;
    case 'update': {
      const cur = (await api(m, 'GET', `${base}/${name}`)).body;
      cur.metadata.labels = { touched: 'yes' };
      return (await api(as(who), 'PUT', `${base}/${name}`, cur)).status;
    }
    case 'patch': return (await api(as(who), 'PATCH', `${base}/${name}`, { metadata: { labels: { p: '1' } } }, 'application/merge-patch+json')).status;
    case 'delete': return (await api(as(who), 'DELETE', `${base}/${name}`)).status;
  }
}

describe('role × verb × scope', () => {
  const rows: Array<[string, Verb, string]> = [];
  for (const who of WHO) for (const verb of VERBS) for (const ns of ['alpha', 'beta']) rows.push([who, verb, ns]);

  it.each(rows)('%s %s containers in %s', async (who, verb, ns) => {
    const code = await attempt(who, verb, ns);
    if (expected(who, verb, ns)) expect(code).toBeLessThan(300);
    else expect(code).toBe(403);
  });

  it('a token limited to a Cluster lists only that Cluster, and reads no other', async () => {
    for (const who of ['adminAlpha', 'operatorAlpha', 'viewerAlpha']) {
      const r = await api(as(who), 'GET', `${G}/clusters`);
      expect(r.status).toBe(200);
      expect(r.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['alpha']);
      expect((await api(as(who), 'GET', `${G}/clusters/alpha`)).status).toBe(200);
      expect((await api(as(who), 'GET', `${G}/clusters/beta`)).status).toBe(403);
      expect((await api(as(who), 'GET', `${G}/containers`)).status).toBe(403); // all namespaces
    }
    const all = await api(as('viewer'), 'GET', `${G}/clusters`);
    expect(all.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(expect.arrayContaining(['alpha', 'beta', 'default']));
  });

  it('only admins manage Clusters and tokens; operators apply and operate', async () => {
    const cluster = { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'gamma' }, spec: {} };
    expect((await api(as('operator'), 'POST', `${G}/clusters`, cluster)).status).toBe(403);
    expect((await api(as('operator'), 'PATCH', `${G}/clusters/alpha`, { spec: { description: 'x' } }, 'application/merge-patch+json')).status).toBe(403);
    expect((await api(as('operator'), 'POST', '/api/v1/tokens', { role: 'viewer' })).status).toBe(403);
    expect((await api(as('operatorAlpha'), 'POST', '/api/v1/clusters/alpha/join-tokens', {})).status).toBe(403);
    expect((await api(as('viewer'), 'GET', '/api/v1/tokens')).status).toBe(403);
    // a Cluster-bound admin manages its own Cluster's tokens only
    expect((await api(as('adminAlpha'), 'POST', '/api/v1/tokens', { role: 'viewer', cluster: 'beta' })).status).toBe(403);
    const mine = await api(as('adminAlpha'), 'POST', '/api/v1/tokens', { role: 'viewer' });
    expect(mine.status).toBe(201);
    expect(mine.body.cluster).toBe('alpha');
    const listed = await api(as('adminAlpha'), 'GET', '/api/v1/tokens');
    expect(listed.body.items.every((t: { cluster?: string }) => t.cluster === 'alpha')).toBe(true);
    expect((await api(as('admin'), 'POST', `${G}/clusters`, cluster)).status).toBe(201);
  });
});

describe('token lifetimes', () => {
  it('token list shows tokens without their secrets; a revoked token gets 401 at once', async () => {
    const t = await makeToken('viewer', 'beta');
    const list = await run(['token', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+CLUSTER\s+EXPIRES\s+STATUS\s+DESCRIPTION$/m);
    for (const secret of Object.values(tokens)) expect(list.stdout).not.toContain(secret.slice(4));
    const row = list.stdout.split('\n').find((l) => /\sviewer\s+beta\s/.test(l))!;
    const id = row.split(/\s+/)[0];
    expect((await api({ url: m.url, token: t }, 'GET', `${G}/namespaces/beta/containers`)).status).toBe(200);
    const revoked = await run(['token', 'revoke', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked');
    const after = await api({ url: m.url, token: t }, 'GET', `${G}/namespaces/beta/containers`);
    expect(after.status).toBe(401);
    expect(after.body.message).toContain('not valid');
    // the token store keeps hashes only
    const stored = readFileSync(join(m.dataDir, 'tokens.json'), 'utf8');
    for (const secret of Object.values(tokens)) expect(stored).not.toContain(secret);
  });

  it('an expired token gets 401', async () => {
    const t = await makeToken('viewer', undefined, '2s');
    expect((await api({ url: m.url, token: t }, 'GET', `${G}/clusters`)).status).toBe(200);
    await sleep(2500);
    expect((await api({ url: m.url, token: t }, 'GET', `${G}/clusters`)).status).toBe(401);
    const list = await run(['token', 'list']);
    expect(list.stdout).toMatch(/\sexpired\s/);
  });

  it('a single-use join token joins once', async () => {
    const r = await run(['token', 'create', '--join', '--cluster', 'alpha', '--uses', '1']);
    expect(r.stderr).toContain('single use');
    const token = r.stdout.trim();
    const join = (nodeName: string) => fetch(`${m.url}/api/v1/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, nodeName }) });
    expect((await join('once-a')).status).toBe(201);
    expect((await join('once-b')).status).toBe(401);
    const list = await run(['token', 'list', '--join', '--cluster', 'alpha']);
    expect(list.stdout).toMatch(/\s1\/1\s+expired\s/);
  });
});

describe('node credentials', () => {
  let agent: AgentProcess;

  it('are signed and expiring, renewed by the agent before they expire; a deleted Node\'s credential stops at once', async () => {
    const joinToken = (await run(['token', 'create', '--join', '--cluster', 'alpha'])).stdout.trim();
    agent = await startNodeAgent(m, { name: 'renewer', namespace: 'alpha', joinToken });
    const credPath = join(agent.dataDir, 'credential.json');
    const first = JSON.parse(readFileSync(credPath, 'utf8')).token as string;
    expect(first).toMatch(/^drvn_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const claims = JSON.parse(Buffer.from(first.slice(5).split('.')[0], 'base64url').toString());
    expect(claims).toMatchObject({ node: 'renewer', cluster: 'alpha' });
    expect(claims.exp - claims.iat).toBe(6000);
    // a tampered credential is refused
    const forged = `drvn_${Buffer.from(JSON.stringify({ ...claims, node: 'other' })).toString('base64url')}.${first.split('.')[1]}`;
    expect((await api({ url: m.url, token: forged }, 'GET', `${G}/namespaces/alpha/nodes/other`)).status).toBe(401);

    // renewed at two thirds of 6 s: the agent keeps heartbeating past the first credential's expiry
    const renewed = await eventually('a renewed credential', async () => {
      const t = JSON.parse(readFileSync(credPath, 'utf8')).token as string;
      return t !== first ? t : undefined;
    }, 15_000, 200);
    await sleep(7000);
    expect(JSON.parse(readFileSync(credPath, 'utf8')).token).not.toBe(first);
    const node = (await api(m, 'GET', `${G}/namespaces/alpha/nodes/renewer`)).body;
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('True');
    expect(Date.now() - Date.parse(node.status.lastHeartbeatTime)).toBeLessThan(3000);
    expect(agent.output()).toContain('renewed the node credential');

    // NodeRestriction covers the seed compatibility endpoints too
    const current = JSON.parse(readFileSync(credPath, 'utf8')).token as string;
    const asNode = { url: m.url, token: current };
    expect((await api(asNode, 'GET', '/api/v1/agents/renewer/tasks')).status).toBe(200);
    // without a node named, a node's task list is narrowed to its own tasks
    const own = await api(asNode, 'GET', '/api/v1/tasks');
    expect(own.status).toBe(200);
    expect(own.body.tasks.every((t: { node?: string; nodeName?: string }) => (t.node ?? t.nodeName) === 'renewer')).toBe(true);
    for (const [method, path] of [
      ['GET', '/api/v1/agents/someone-else/tasks'], ['GET', '/api/v1/tasks?node=someone-else'],
      ['GET', '/api/v1/cluster/containers?namespace=alpha'], ['POST', '/api/v1/cluster/containers/register?namespace=alpha'],
      ['POST', '/api/v1/cluster/rebalance?namespace=alpha'], ['GET', '/api/v1/tokens'], ['POST', '/api/v1/clusters/alpha/join-tokens'],
    ] as const) {
      const r = await api(asNode, method, path, method === 'POST' ? { name: 'x' } : undefined);
      expect([path, r.status]).toEqual([path, 403]);
    }

    // delete the Node: its current credential stops working at once
    await agent.stop();
    expect((await api({ url: m.url, token: current }, 'GET', `${G}/namespaces/alpha/nodes/renewer`)).status).toBe(200);
    expect((await run(['delete', 'node', 'renewer', '-n', 'alpha'])).code).toBe(0);
    await eventually('the deleted node\'s credential refused', async () => (await api({ url: m.url, token: current }, 'GET', `${G}/clusters/alpha`)).status === 401, 5000, 50);
    expect(renewed).toMatch(/^drvn_/);
  }, 60_000);
});

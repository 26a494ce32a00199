// Container logs over the API: a joined node posts output for its bound containers; users read it
// back (tail, limit, follow); deleting the container drops it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTokenStore, staticAuthenticator } from '../../api/auth.ts';
import { BASE, TOKENS, cluster, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';

let h: Harness;
let dir: string;
let nodeA: string;
let nodeB: string;

const logPath = (name: string, q = '') => `${BASE}/namespaces/demo/containers/${name}/log${q}`;
const post = (cred: string, name: string, text: string) => h.call('POST', logPath(name), undefined, { token: cred, rawBody: text, contentType: 'text/plain' });

async function boundContainer(name: string, nodeName: string): Promise<void> {
  const c = { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name }, spec: { command: ['sleep', '60'] } };
  expect((await h.call('POST', `${BASE}/namespaces/demo/containers`, c)).status).toBe(201);
  expect((await h.call('PATCH', `${BASE}/namespaces/demo/containers/${name}/status`, { status: { nodeName } })).status).toBe(200);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drover-logs-'));
  const tokens = openTokenStore(dir);
  const fixed = staticAuthenticator({
    [TOKENS.admin]: { name: 'alice', role: 'admin' },
    [TOKENS.viewer]: { name: 'victor', role: 'viewer' },
    [TOKENS.demoOperator]: { name: 'olga', role: 'operator', cluster: 'other' },
  });
  h = await startApi({ tokens, authenticator: { authenticate: (t) => fixed.authenticate(t) ?? tokens.authenticate(t) } });
  expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
  const { token } = (await h.call('POST', '/api/v1/clusters/demo/join-tokens', {})).body;
  nodeA = (await h.call('POST', '/api/v1/join', { token, nodeName: 'node-a' }, { token: null })).body.credential;
  nodeB = (await h.call('POST', '/api/v1/join', { token, nodeName: 'node-b' }, { token: null })).body.credential;
  await boundContainer('web', 'node-a');
  await boundContainer('db', 'node-b');
});

afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('container logs', () => {
  it('the node running a container ships its output; a viewer reads it back, whole or by tail', async () => {
    expect((await post(nodeA, 'web', 'line 1\nline 2\n')).status).toBe(204);
    expect((await post(nodeA, 'web', 'line 3\n')).status).toBe(204);
    const all = await h.call('GET', logPath('web'), undefined, { token: TOKENS.viewer });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(all.text).toBe('line 1\nline 2\nline 3\n');
    expect((await h.call('GET', logPath('web', '?tailLines=2'))).text).toBe('line 2\nline 3\n');
    expect((await h.call('GET', logPath('web', '?limitBytes=4'))).text).toBe('line');
    expect((await h.call('GET', logPath('web', '?tailLines=x'))).status).toBe(400);
  });

  it.each([
    ['an admin', () => TOKENS.admin, 'web', /only the node agent running the container/],
    ['another node', () => nodeB, 'web', /node "node-b" cannot create containers.drover.dev\/log in namespace "demo" that is not bound to it \(bound to "node-a"\)/],
    ['an operator of another Cluster', () => TOKENS.demoOperator, 'web', /limited to cluster "other"/],
  ])('%s cannot write a container\'s log (403)', async (_who, cred, name, message) => {
    const r = await post(cred(), name, 'forged\n');
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(message);
    expect((await h.call('GET', logPath(name))).text).not.toContain('forged');
  });

  it('a node reads the log of its own containers only; a missing container is a 404', async () => {
    expect((await h.call('GET', logPath('web'), undefined, { token: nodeA })).status).toBe(200);
    expect((await h.call('GET', logPath('web'), undefined, { token: nodeB })).status).toBe(403);
    expect((await h.call('GET', logPath('nope'))).status).toBe(404);
  });

  it('follow=true streams new output as the node ships it', async () => {
    await post(nodeB, 'db', 'ready\n');
    const ac = new AbortController();
    const res = await fetch(h.url + logPath('db', '?follow=true&tailLines=1'), { headers: { authorization: `Bearer ${TOKENS.admin}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let got = '';
    const readUntil = async (want: string) => {
      while (!got.includes(want)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before "${want}"; got ${JSON.stringify(got)}`);
        got += dec.decode(value, { stream: true });
      }
    };
    await readUntil('ready\n');
    await post(nodeB, 'db', 'query 1\n');
    await readUntil('query 1\n');
    expect(got).toBe('ready\nquery 1\n');
    ac.abort();
  });

  it('deleting the container ends followers and drops its log; a new one of the same name starts empty', async () => {
    await post(nodeB, 'db', 'before delete\n');
    const res = await fetch(h.url + logPath('db', '?follow=true'), { headers: { authorization: `Bearer ${TOKENS.admin}` } });
    const body = res.text(); // resolves when the server ends the stream
    expect((await h.call('DELETE', `${BASE}/namespaces/demo/containers/db`)).status).toBe(200);
    expect(await body).toContain('before delete');
    await boundContainer('db', 'node-b');
    expect((await h.call('GET', logPath('db'))).text).toBe('');
  });
});

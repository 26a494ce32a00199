// cordon / uncordon / drain / restart against the in-memory fake API (with /status PATCH routed to the object).
import { describe, it, expect, beforeEach } from '@jest/globals';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run } from '../../cli/program.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { KubeObject } from '../../core/types.ts';
import { fakeApi, captureIo, type FakeApi } from './cli-fake-api.ts';

const registry = loadRegistry();
const BASE = '/apis/drover.dev/v1alpha1/namespaces/c1';
const V = 'drover.dev/v1alpha1';

let api: FakeApi;
/** Names the "controller" never moves (a container that will not leave). */
let stuck: Set<string>;

/** Routes /status PATCHes to the object, and plays the container controller: an eviction request moves the container off its node. */
function withStatusRoute(inner: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const m = /^(.*\/containers\/([^/]+))\/status$/.exec(url.pathname);
    if (m && init?.method === 'PATCH') {
      url.pathname = m[1];
      return inner(url.toString(), init);
    }
    const c = /^.*\/containers\/([^/]+)$/.exec(url.pathname);
    const res = await inner(input, init);
    if (c && init?.method === 'PATCH' && String(init.body).includes('drover.dev/evict') && !stuck.has(c[1])) {
      const obj = api.objects.get(url.pathname)!;
      api.put(url.pathname, { ...obj, status: { ...obj.status, nodeName: undefined } });
    }
    return res;
  }) as typeof fetch;
}

async function drover(argv: string[]) {
  const cap = captureIo({ fetch: withStatusRoute(api.fetch), registry, now: () => Date.UTC(2026, 10, 23, 15, 0, 0) });
  cap.io.env = { DROVER_CONFIG: join(tmpdir(), 'drover-no-config') };
  const code = await run(['-n', 'c1', ...argv], cap.io);
  return { code, stdout: cap.stdout(), stderr: cap.stderr() };
}

const node = (name: string, unschedulable = false): KubeObject => ({ apiVersion: V, kind: 'Node', metadata: { name, namespace: 'c1' }, spec: { unschedulable } });
const ctr = (name: string, nodeName: string, pin?: string): KubeObject =>
  ({ apiVersion: V, kind: 'Container', metadata: { name, namespace: 'c1' }, spec: { command: ['x'], ...(pin ? { nodeName: pin } : {}) }, status: { nodeName, phase: 'Running' } });

beforeEach(() => {
  api = fakeApi();
  stuck = new Set();
  api.put(`${BASE}/nodes/node-a`, node('node-a'));
  api.put(`${BASE}/nodes/node-b`, node('node-b'));
});

describe('drover cordon / uncordon', () => {
  it.each([
    { argv: ['cordon', 'node-a'], before: false, out: 'node.drover.dev/node-a cordoned\n', after: true, patched: true },
    { argv: ['cordon', 'node-a'], before: true, out: 'node.drover.dev/node-a already cordoned\n', after: true, patched: false },
    { argv: ['uncordon', 'node-a'], before: true, out: 'node.drover.dev/node-a uncordoned\n', after: false, patched: true },
  ])('$argv.0 (unschedulable was $before)', async ({ argv, before, out, after, patched }) => {
    api.put(`${BASE}/nodes/node-a`, node('node-a', before));
    const res = await drover(argv);
    expect(res).toMatchObject({ code: 0, stdout: out });
    expect(api.objects.get(`${BASE}/nodes/node-a`)?.spec?.unschedulable).toBe(after);
    expect(api.requests.some((r) => r.method === 'PATCH')).toBe(patched);
  });

  it('a missing node is an error naming it', async () => {
    const res = await drover(['cordon', 'nope']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('nope');
  });
});

describe('drover drain', () => {
  it('cordons, evicts unpinned containers, skips pinned ones, and finishes when none is left', async () => {
    api.put(`${BASE}/containers/web-1`, ctr('web-1', 'node-a'));
    api.put(`${BASE}/containers/db`, ctr('db', 'node-a', 'node-a'));
    api.put(`${BASE}/containers/other`, ctr('other', 'node-b'));
    const res = await drover(['drain', 'node-a', '--poll-interval', '50ms']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')).toEqual([
      'node.drover.dev/node-a cordoned',
      'evicting container/web-1',
      'skipping container/db (pinned to node-a by spec.nodeName)',
      'node.drover.dev/node-a drained (1 pinned container left in place)',
      '',
    ]);
    const web = api.objects.get(`${BASE}/containers/web-1`)!;
    expect(web.status?.nodeName).toBeUndefined();
    // the manager is asked to move it (it stops the copy on node-a first), with the time of the request
    expect(web.metadata.annotations).toEqual({ 'drover.dev/evict': 'node-a@2026-11-23T15:00:00.000Z' });
    expect(api.objects.get(`${BASE}/containers/other`)?.status?.nodeName).toBe('node-b');
    expect(api.objects.get(`${BASE}/nodes/node-a`)?.spec?.unschedulable).toBe(true);
  });

  it('reports progress and times out naming the containers that did not leave', async () => {
    api.put(`${BASE}/containers/web-1`, ctr('web-1', 'node-a'));
    api.put(`${BASE}/containers/web-2`, ctr('web-2', 'node-a'));
    stuck.add('web-2');
    const res = await drover(['drain', 'node-a', '--poll-interval', '50ms', '--timeout', '0s']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('waiting for 1 container to leave node-a…');
    expect(res.stderr).toContain('waiting for 1 container(s) to leave node node-a: web-2');
  });
});

describe('drover restart', () => {
  it.each([
    { argv: ['restart', 'container', 'web'] },
    { argv: ['restart', 'container/web'] },
    { argv: ['restart', 'dco', 'web'] },
  ])('$argv sets the restartedAt annotation', async ({ argv }) => {
    api.put(`${BASE}/containers/web`, ctr('web', 'node-a'));
    const res = await drover(argv);
    expect(res).toMatchObject({ code: 0, stdout: 'container.drover.dev/web restarted\n' });
    expect(api.objects.get(`${BASE}/containers/web`)?.metadata.annotations).toEqual({ 'drover.dev/restartedAt': '2026-11-23T15:00:00.000Z' });
  });

  it('only containers can be restarted', async () => {
    const res = await drover(['restart', 'node', 'node-a']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('only containers can be restarted');
  });
});

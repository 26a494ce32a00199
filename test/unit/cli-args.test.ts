import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/main.ts';
import { writeCliConfig, readCliConfig } from '../../core/cli-config.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { KubeObject } from '../../core/types.ts';
import { captureIo, fakeApi } from './cli-fake-api.ts';

const registry = loadRegistry();
let dir: string;
let configFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drover-cli-args-'));
  configFile = join(dir, 'config');
});
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const A = '/apis/drover.dev/v1alpha1';

function ad(name: string, ns = 'default'): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
    metadata: { name, namespace: ns, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', uid: `u-${name}` },
    spec: { agentType: 'trading', replicas: 2, template: { command: ['node'] } },
  };
}

async function drover(argv: string[], opts: { api?: ReturnType<typeof fakeApi>; env?: Record<string, string> } = {}) {
  const api = opts.api ?? fakeApi();
  const cap = captureIo({ fetch: api.fetch, registry, cwd: dir, now: () => Date.parse('2026-01-01T01:00:00Z') });
  cap.io.env = { DROVER_CONFIG: configFile, ...opts.env };
  const code = await run(argv, cap.io);
  return { code, stdout: cap.stdout(), stderr: cap.stderr(), api };
}

describe('drover argument parsing', () => {
  it.each([
    [['get', 'ad'], `${A}/namespaces/default/agentdeployments`, ''],
    [['get', 'agentdeployments', '-n', 'customer1'], `${A}/namespaces/customer1/agentdeployments`, ''],
    [['-n', 'customer1', 'get', 'AgentDeployment'], `${A}/namespaces/customer1/agentdeployments`, ''],
    [['get', 'ad', '--namespace=customer2'], `${A}/namespaces/customer2/agentdeployments`, ''],
    [['get', 'ad', '-A'], `${A}/agentdeployments`, ''],
    [['get', 'clusters', '-n', 'ignored'], `${A}/clusters`, ''],
    [['get', 'ad', '-l', 'tier=agents', '--field-selector', 'status.phase=Running'], `${A}/namespaces/default/agentdeployments`, 'labelSelector=tier%3Dagents&fieldSelector=status.phase%3DRunning'],
    [['get', 'ad', 'trading'], `${A}/namespaces/default/agentdeployments/trading`, ''],
    [['get', 'ad/trading'], `${A}/namespaces/default/agentdeployments/trading`, ''],
  ])('%j → GET %s', async (argv, path, query) => {
    const api = fakeApi();
    api.put(`${A}/namespaces/default/agentdeployments/trading`, ad('trading'));
    const r = await drover(argv, { api });
    expect(api.requests[0]).toMatchObject({ method: 'GET', path });
    expect(api.requests[0].query.toString()).toBe(query);
    expect(r.code).toBe(0);
  });

  it('takes server, token and namespace from the current context, flags override them', async () => {
    writeCliConfig(configFile, { apiVersion: 'drover.dev/v1alpha1', kind: 'Config', 'current-context': 'c1',
      contexts: [{ name: 'c1', context: { server: 'http://127.0.0.1:1234', token: 'tok1', namespace: 'customer9' } }] });
    const a = await drover(['get', 'ad']);
    expect(a.api.requests[0]).toMatchObject({ path: `${A}/namespaces/customer9/agentdeployments`, authorization: 'Bearer tok1' });
    const b = await drover(['get', 'ad', '--token', 'tok2', '-n', 'x']);
    expect(b.api.requests[0]).toMatchObject({ path: `${A}/namespaces/x/agentdeployments`, authorization: 'Bearer tok2' });
  });

  it.each([
    [['get']],
    [['get', 'ad', '-o', 'xml']],
    [['frobnicate']],
    [['get', 'ad', '--bogus']],
    [['wait', 'ad/trading']],
    [['wait', 'ad/trading', '--for=ready']],
    [['delete', 'ad']],
  ])('%j is a usage error (exit 2)', async (argv) => {
    const r = await drover(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.api.requests).toHaveLength(0);
  });

  it('names every kind when the kind is unknown', async () => {
    const r = await drover(['get', 'foo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: the server doesn\'t have a resource type "foo" (see the kinds: cluster, node, container, agentdeployment, agent, task, event, applyset, gitrepository)\n');
  });

  it('says where nothing was found, on stderr', async () => {
    const r = await drover(['get', 'ad', '-n', 'demo']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('No resources found in demo namespace.\n');
    expect((await drover(['get', 'clusters'])).stderr).toBe('No resources found\n');
  });

  it('prints a table with NAMESPACE first under -A', async () => {
    const api = fakeApi();
    api.put(`${A}/namespaces/c1/agentdeployments/trading`, ad('trading', 'c1'));
    api.put(`${A}/namespaces/c2/agentdeployments/risk`, ad('risk', 'c2'));
    const r = await drover(['get', 'ad', '-A'], { api });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['c1', 'trading'], ['c2', 'risk']]);
  });

  it.each([
    [['-o', 'name'], (out: string) => expect(out).toBe('agentdeployment.drover.dev/a\nagentdeployment.drover.dev/b\n')],
    [['-o', 'json'], (out: string) => expect(JSON.parse(out)).toMatchObject({ kind: 'List', items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] })],
    [['a', '-o', 'json'], (out: string) => expect(JSON.parse(out)).toMatchObject({ kind: 'AgentDeployment', metadata: { name: 'a' } })],
    [['a', '-o', 'yaml'], (out: string) => expect(out).toMatch(/^apiVersion: drover.dev\/v1alpha1\nkind: AgentDeployment\n/)],
  ])('get ad %j', async (extra, check) => {
    const api = fakeApi();
    api.put(`${A}/namespaces/default/agentdeployments/a`, ad('a'));
    api.put(`${A}/namespaces/default/agentdeployments/b`, ad('b'));
    const r = await drover(['get', 'ad', ...extra], { api });
    expect(r.code).toBe(0);
    check(r.stdout);
  });

  it('a missing object is an error naming it, exit 1', async () => {
    const r = await drover(['get', 'ad', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: agentdeployments.drover.dev "nope" not found\n');
  });

  it('explains an unreachable manager in one line', async () => {
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    const cap = captureIo({ fetch: refused, registry });
    cap.io.env = { DROVER_CONFIG: configFile };
    expect(await run(['get', 'ad'], cap.io)).toBe(1);
    expect(cap.stderr()).toBe("error: cannot reach the drover manager at http://127.0.0.1:8000: connect ECONNREFUSED 127.0.0.1:8000 — is it running? (start one with 'drover up')\n");
  });

  it('prints a stack trace only with DROVER_DEBUG=1', async () => {
    const plain = await drover(['get', 'foo']);
    const debug = await drover(['get', 'foo'], { env: { DROVER_DEBUG: '1' } });
    expect(plain.stderr.split('\n')).toHaveLength(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('drover config', () => {
  it('set-context, use-context, get-contexts, current-context, view, delete-context', async () => {
    expect((await drover(['config', 'set-context', 'local', '--server', 'http://127.0.0.1:8000', '--token', 'abc', '--namespace', 'customer1'])).stdout)
      .toBe('Context "local" created.\n');
    expect((await drover(['config', 'set-context', 'other', '--server', 'http://127.0.0.1:9000'])).code).toBe(0);
    expect(readCliConfig(configFile)['current-context']).toBe('local');
    expect((await drover(['config', 'use-context', 'other'])).stdout).toBe('Switched to context "other".\n');
    expect((await drover(['config', 'current-context'])).stdout).toBe('other\n');
    expect((await drover(['config', 'get-contexts'])).stdout).toBe([
      'CURRENT   NAME    SERVER                  NAMESPACE',
      '          local   http://127.0.0.1:8000   customer1',
      '*         other   http://127.0.0.1:9000',
      '',
    ].join('\n'));
    const view = await drover(['config', 'view']);
    expect(view.stdout).toContain('token: REDACTED');
    expect(view.stdout).not.toContain('abc');
    expect((await drover(['config', 'view', '--raw'])).stdout).toContain('token: abc');
    expect((await drover(['config', 'delete-context', 'other'])).code).toBe(0);
    expect((await drover(['config', 'current-context'])).code).toBe(1);
  });

  it.each([
    [['config', 'use-context', 'ghost'], /^error: no context exists with the name "ghost" in .*config \(list them with 'drover config get-contexts'\)\n$/],
    [['config', 'set-context', 'new'], /^error: context "new" does not exist yet \(give --server URL to create it\)\n$/],
    [['--context', 'ghost', 'get', 'ad'], /^error: context "ghost" not found in .*config/],
  ])('%j fails clearly', async (argv, message) => {
    const r = await drover(argv);
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr).toMatch(message);
  });
});

import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/main.ts';
import { LAST_APPLIED } from '../../cli/prepare.ts';
import { loadRegistry } from '../../core/crds.ts';
import { captureIo, fakeApi } from './cli-fake-api.ts';

const registry = loadRegistry();
const A = '/apis/drover.dev/v1alpha1';
let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'drover-cli-apply-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const CLUSTER = `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: customer1}
spec:
  placement: {strategy: LeastLoaded}
`;
const CONTAINER = `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: orchestrator-1, namespace: customer1, labels: {tier: agents}}
spec:
  image: example/orchestrator:1.0
  command: [/bin/sh, -c, "exec sleep infinity"]
`;
const deployment = (replicas: number | string) => `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: trading, namespace: customer1}
spec:
  agentType: trading
  replicas: ${replicas}
  template:
    command: [node, agents/trading.js]
`;

function write(rel: string, text: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

async function drover(argv: string[], api = fakeApi(), stdin?: string) {
  const cap = captureIo({ fetch: api.fetch, registry, cwd: dir, readStdin: async () => stdin ?? '' });
  cap.io.env = { DROVER_CONFIG: join(dir, 'no-config') };
  const code = await run(argv, cap.io);
  return { code, stdout: cap.stdout(), stderr: cap.stderr(), api };
}

const writes = (api: ReturnType<typeof fakeApi>) => api.requests.filter((r) => r.method !== 'GET');

describe('drover apply', () => {
  it('applies a directory in kind order (Cluster, Container, AgentDeployment), whatever the file order', async () => {
    write('m/a-deploy.yaml', deployment(2));
    write('m/b-container.yml', CONTAINER);
    write('m/c-cluster.json', JSON.stringify({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'customer1' } }));
    write('m/notes.txt', 'not a manifest');
    const r = await drover(['apply', '-f', 'm']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      'cluster.drover.dev/customer1 created',
      'container.drover.dev/orchestrator-1 created',
      'agentdeployment.drover.dev/trading created',
      '',
    ].join('\n'));
    expect(writes(r.api).map((q) => `${q.method} ${q.path}`)).toEqual([
      `POST ${A}/clusters`,
      `POST ${A}/namespaces/customer1/containers`,
      `POST ${A}/namespaces/customer1/agentdeployments`,
    ]);
    const sent = writes(r.api)[2].body as { metadata: { annotations: Record<string, string> } };
    expect(JSON.parse(sent.metadata.annotations[LAST_APPLIED])).toMatchObject({ kind: 'AgentDeployment', spec: { replicas: 2 } });
  });

  it('reads subdirectories only with -R', async () => {
    write('m/cluster.yaml', CLUSTER);
    write('m/sub/deploy.yaml', deployment(1));
    expect((await drover(['apply', '-f', 'm'])).stdout).toBe('cluster.drover.dev/customer1 created\n');
    expect((await drover(['apply', '-f', 'm', '-R'])).stdout).toContain('agentdeployment.drover.dev/trading created');
  });

  it('is unchanged on a second apply and configured (merge patch) after an edit', async () => {
    const api = fakeApi();
    write('d.yaml', deployment(2));
    await drover(['apply', '-f', 'd.yaml'], api);
    const again = await drover(['apply', '-f', 'd.yaml'], api);
    expect(again.stdout).toBe('agentdeployment.drover.dev/trading unchanged\n');
    write('d.yaml', deployment(5));
    api.requests.length = 0;
    const edited = await drover(['apply', '-f', 'd.yaml'], api);
    expect(edited.stdout).toBe('agentdeployment.drover.dev/trading configured\n');
    const patch = writes(api)[0];
    expect(patch).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json', path: `${A}/namespaces/customer1/agentdeployments/trading` });
    expect((patch.body as { spec: unknown }).spec).toEqual({ replicas: 5 });
  });

  it('takes the namespace from -n for documents without one', async () => {
    write('d.yaml', deployment(1).replace(', namespace: customer1', ''));
    const r = await drover(['apply', '-f', 'd.yaml', '-n', 'customer7']);
    expect(writes(r.api)[0].path).toBe(`${A}/namespaces/customer7/agentdeployments`);
  });

  it('reads -f - from stdin', async () => {
    const r = await drover(['apply', '-f', '-'], fakeApi(), CLUSTER);
    expect(r.stdout).toBe('cluster.drover.dev/customer1 created\n');
  });

  it.each([
    ['client', 'agentdeployment.drover.dev/trading created (dry run)\n', 0],
    ['server', 'agentdeployment.drover.dev/trading created (server dry run)\n', 1],
  ])('--dry-run=%s', async (mode, out, posts) => {
    write('d.yaml', deployment(1));
    const r = await drover(['apply', '-f', 'd.yaml', `--dry-run=${mode}`]);
    expect(r.stdout).toBe(out);
    expect(writes(r.api)).toHaveLength(posts);
    if (posts) expect(writes(r.api)[0].query.get('dryRun')).toBe('All');
    expect(r.api.objects.size).toBe(0);
  });

  it('validates everything first: one bad document means nothing is sent, every error at file:line:col', async () => {
    write('m/1-cluster.yaml', CLUSTER);
    write('m/2-deploy.yaml', deployment('"many"'));
    write('m/3-container.yaml', CONTAINER.replace('kind: Container', 'kind: Contianer'));
    const r = await drover(['apply', '-f', 'm']);
    expect(r.code).toBe(1);
    expect(r.api.requests).toHaveLength(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^m\/2-deploy\.yaml:6:13: spec\.replicas: Invalid value: "many"/),
      expect.stringMatching(/^m\/3-container\.yaml:2:7: kind: no kind "Contianer"/),
    ]));
    expect(lines.at(-1)).toMatch(/^error: 2 problems in the manifests, nothing was sent/);
  });

  it('prints a server 422 at the file:line of each cause and keeps going with the others', async () => {
    const api = fakeApi();
    api.failures.set(`POST ${A}/namespaces/customer1/containers`, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid', message: 'invalid',
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.image', message: 'image not allowed' }] },
    });
    write('m/a.yaml', [CLUSTER, CONTAINER, deployment(1)].join('---\n'));
    const r = await drover(['apply', '-f', 'm'], api);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('cluster.drover.dev/customer1 created\nagentdeployment.drover.dev/trading created\n');
    expect(r.stderr).toMatch(/^m\/a\.yaml:11:10: spec\.image: image not allowed\n/);
    expect(r.stderr).toContain('error: 1 of 3 objects failed to apply');
  });

  it('names a missing path', async () => {
    const r = await drover(['apply', '-f', 'nowhere.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: the path "nowhere.yaml" does not exist\n');
  });
});

describe('drover diff and delete -f', () => {
  it('diff shows a new object, exits 1; after apply exits 0; after an edit shows the change', async () => {
    const api = fakeApi();
    write('d.yaml', deployment(2));
    const fresh = await drover(['diff', '-f', 'd.yaml'], api);
    expect(fresh.code).toBe(1);
    expect(fresh.stdout).toMatch(/^--- live\/agentdeployment\.drover\.dev\/customer1\/trading\n\+\+\+ merged\/.*\n@@ -0,0 \+1,\d+ @@\n/);
    expect(fresh.stdout).toContain('+  replicas: 2');
    expect(fresh.stdout).not.toMatch(/resourceVersion|uid:|creationTimestamp/);
    expect(api.objects.size).toBe(0);

    await drover(['apply', '-f', 'd.yaml'], api);
    const same = await drover(['diff', '-f', 'd.yaml'], api);
    expect(same).toMatchObject({ code: 0, stdout: '' });

    write('d.yaml', deployment(4));
    const edited = await drover(['diff', '-f', 'd.yaml'], api);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain('-  replicas: 2\n+  replicas: 4\n');
  });

  it('diff exits 2 on an error', async () => {
    const r = await drover(['diff', '-f', 'missing.yaml']);
    expect(r.code).toBe(2);
  });

  it('delete -f deletes dependants first and reports each', async () => {
    const api = fakeApi();
    write('m/all.yaml', [CLUSTER, CONTAINER, deployment(1)].join('---\n'));
    await drover(['apply', '-f', 'm'], api);
    api.requests.length = 0;
    const r = await drover(['delete', '-f', 'm'], api);
    expect(r.stdout).toBe([
      'agentdeployment.drover.dev "trading" deleted',
      'container.drover.dev "orchestrator-1" deleted',
      'cluster.drover.dev "customer1" deleted',
      '',
    ].join('\n'));
    const again = await drover(['delete', 'ad', 'trading', '-n', 'customer1'], api);
    expect(again).toMatchObject({ code: 1, stderr: 'error: agentdeployment.drover.dev "trading" not found\n' });
    expect((await drover(['delete', 'ad', 'trading', '-n', 'customer1', '--ignore-not-found'], api)).code).toBe(0);
  });
});

// End to end: the real manager process on a loopback port, driven by the real CLI (bin/drover).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, drover, droverStream, api, tempDir, cleanup, type ManagerProcess } from '../helpers/processes.ts';

let m: ManagerProcess;
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });

beforeAll(async () => {
  m = await startManager();
});
afterAll(cleanup);

describe('the manager at first start', () => {
  it('writes an admin CLI config readable only by its owner, and the Cluster "default" exists', async () => {
    expect(statSync(m.configPath).mode & 0o777).toBe(0o600);
    const r = await run(['get', 'clusters']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\b/m);
    expect(r.stdout).toMatch(/^default\b/m);
  });

  it('refuses requests without a valid bearer token with a 401 Status', async () => {
    const r = await api({ url: m.url, token: 'drv_wrong' }, 'GET', '/apis/drover.dev/v1alpha1/clusters');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });
});

describe('apply → get → watch → delete', () => {
  it('creates the quickstart, then reports it unchanged on a second apply', async () => {
    const first = await run(['apply', '-f', 'manifests/quickstart']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^cluster\.drover\.dev\/demo created$/m);
    expect(first.stdout).toMatch(/^agentdeployment\.drover\.dev\/trading created$/m);
    const second = await run(['apply', '-f', 'manifests/quickstart']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^agentdeployment\.drover\.dev\/trading unchanged$/m);
    expect(second.stdout).not.toMatch(/created|configured/);
  });

  it('lists objects with the printer columns of the CRD, by kind, plural or short name', async () => {
    for (const kind of ['agentdeployments', 'agentdeployment', 'ad', 'AgentDeployment']) {
      const r = await run(['get', kind, '-n', 'demo']);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+DESIRED\s+READY\s+AVAILABLE\s+STRATEGY\s+AGE$/);
      expect(r.stdout).toMatch(/^trading\s+4\s/m);
    }
    const all = await run(['get', 'containers', '-A']);
    expect(all.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s/);
    const yaml = await run(['get', 'ad', 'trading', '-n', 'demo', '-o', 'yaml']);
    expect(yaml.stdout).toMatch(/^kind: AgentDeployment$/m);
    expect(yaml.stdout).toMatch(/resourceVersion: "\d+"/);
  });

  it('a watch sees the change of a re-applied manifest as a new row', async () => {
    const w = droverStream(['get', 'agentdeployment', 'trading', '-n', 'demo', '-w'], { config: m.configPath });
    try {
      await w.waitFor(/^trading\s+4\s/m);
      const dir = tempDir();
      writeFileSync(join(dir, 'trading.yaml'), `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: trading, namespace: demo}
spec:
  agentType: trading
  replicas: 7
  template: {command: [node, agents/trading.js], config: {strategy: momentum}, resources: {requests: {cpu: 250m, memory: 128Mi}}}
  placement: {strategy: Spread, spreadBy: node, preferredCapabilities: [gpu_compute], containerSelector: {matchLabels: {tier: agents}}, maxPerContainer: 4}
  disruption: {maxUnavailable: 1}
`);
      const r = await run(['apply', '-f', join(dir, 'trading.yaml')]);
      expect(r.stdout).toMatch(/^agentdeployment\.drover\.dev\/trading configured$/m);
      await w.waitFor(/^trading\s+7\s/m);
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it('describe shows spec, status conditions and events', async () => {
    const r = await run(['describe', 'cluster', 'demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+demo$/m);
    expect(r.stdout).toMatch(/^Events:/m);
  });

  it('diff exits 0 when the manifest matches and 1 when it differs, printing the change', async () => {
    const same = await run(['diff', '-f', 'manifests/quickstart']);
    expect(same.code).toBe(1); // the live trading deployment was re-applied with 7 replicas above
    expect(same.stdout).toMatch(/^-\s+replicas: 7$/m);
    expect(same.stdout).toMatch(/^\+\s+replicas: 4$/m);
    await run(['apply', '-f', 'manifests/quickstart']);
    const after = await run(['diff', '-f', 'manifests/quickstart']);
    expect(after.stdout).toBe('');
    expect(after.code).toBe(0);
  });

  it('delete -f removes what the files declare and get then reports NotFound', async () => {
    const r = await run(['delete', '-f', 'manifests/quickstart/', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^agentdeployment\.drover\.dev "trading" deleted$/m);
    const gone = await run(['get', 'ad', 'trading', '-n', 'demo']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/not found/);
  });
});

describe('concurrency and validation errors', () => {
  it('a stale update gets 409 Conflict and leaves the newer write in place', async () => {
    const body = { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'c409', namespace: 'default' }, spec: { agentType: 'risk', replicas: 1, template: { command: ['risk'] } } };
    const created = await api(m, 'POST', '/apis/drover.dev/v1alpha1/namespaces/default/agentdeployments', body);
    expect(created.status).toBe(201);
    const path = '/apis/drover.dev/v1alpha1/namespaces/default/agentdeployments/c409';
    // controllers write status right after a create; wait until the object is quiet before racing two writers
    let current = created.body;
    for (let quiet = 0; quiet < 6; ) {
      await new Promise((r) => setTimeout(r, 250));
      const now = (await api(m, 'GET', path)).body;
      quiet = now.metadata.resourceVersion === current.metadata.resourceVersion ? quiet + 1 : 0;
      current = now;
    }
    const a = structuredClone(current);
    const b = structuredClone(current);
    a.spec.replicas = 2;
    b.spec.replicas = 3;
    expect((await api(m, 'PUT', path, a)).status).toBe(200);
    const stale = await api(m, 'PUT', path, b);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    expect(stale.body.message).toMatch(/the object has been modified/);
    expect((await api(m, 'GET', path)).body.spec.replicas).toBe(2);
  });

  const badManifest = `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata:
  name: bad
  namespace: default
spec:
  agentType: trading
  replicas: -1
  template:
    command: [node, agents/trading.js]
  placement:
    strategy: Fastest
    maxPerContainer: 0
  colour: blue
`;

  it('the API answers 422 naming every bad field at once', async () => {
    const { parse } = await import('yaml');
    const r = await api(m, 'POST', '/apis/drover.dev/v1alpha1/namespaces/default/agentdeployments', parse(badManifest));
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    const fields = r.body.details.causes.map((c: { field: string }) => c.field).sort();
    expect(fields).toEqual(['spec.colour', 'spec.placement.maxPerContainer', 'spec.placement.strategy', 'spec.replicas']);
  });

  it('the CLI prints file:line:column for every bad field and creates nothing', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'a-good.yaml'), `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: good, namespace: default}
spec: {agentType: trading, template: {command: [x]}}
`);
    writeFileSync(join(dir, 'm', 'b-bad.yaml'), badManifest);
    const r = await run(['apply', '-f', join(dir, 'm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/b-bad\.yaml:8:\d+: spec\.replicas/);
    expect(r.stderr).toMatch(/b-bad\.yaml:12:\d+: spec\.placement\.strategy/);
    expect(r.stderr).toMatch(/b-bad\.yaml:13:\d+: spec\.placement\.maxPerContainer/);
    expect(r.stderr).toMatch(/b-bad\.yaml:14:\d+: spec\.colour/);
    // all-or-nothing: the good document in the same directory was not applied either
    expect((await api(m, 'GET', '/apis/drover.dev/v1alpha1/namespaces/default/agentdeployments/good')).status).toBe(404);
  });

  it('a YAML syntax error names the file and line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: [unclosed\n');
    const r = await run(['apply', '-f', join(dir, 'broken.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+/);
  });

  it('a namespaced object needs its Cluster first', async () => {
    const r = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: x, namespace: nowhere}
spec: {agentType: trading, template: {command: [x]}}
`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cluster "nowhere" not found/);
  });
});

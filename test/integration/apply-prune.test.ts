// `drover apply --prune --applyset NAME` against a real manager: members are labelled and recorded in the
// ApplySet parent; what the manifests no longer hold is pruned, and nothing the set does not own ever is.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, cleanup, drover, startManager, tempDir, type ManagerProcess } from '../helpers/processes.ts';

const G = '/apis/drover.dev/v1alpha1';
let m: ManagerProcess;
let dir: string;
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });

const container = (name: string, ns: string, labels: Record<string, string> = {}) =>
  `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)}}\nspec: {image: "x:1", state: Stopped}\n`;
const write = (name: string, text: string | null) => {
  if (text === null) rmSync(join(dir, name), { force: true });
  else writeFileSync(join(dir, name), text);
};
const exists = async (kind: string, ns: string, name: string) => {
  const r = await api(m, 'GET', `${G}/namespaces/${ns}/${kind}/${name}`);
  return r.status === 200 && !r.body.metadata.deletionTimestamp;
};

beforeAll(async () => {
  m = await startManager();
  for (const c of ['shop', 'shop2']) expect((await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${c}}\n`)).code).toBe(0);
  dir = tempDir('drover-applyset-');
  mkdirSync(dir, { recursive: true });
}, 60_000);
afterAll(cleanup);

describe('drover apply --applyset', () => {
  // no -n: the documents name their namespaces, and the parent lives in the context's namespace ("default")
  it('labels the members and records their kinds and namespaces in the ApplySet parent', async () => {
    write('a.yaml', container('a', 'shop', { tier: 'x' }));
    write('b.yaml', container('b', 'shop', { tier: 'x' }));
    write('c.yaml', container('c', 'shop', { tier: 'y' }));
    write('d.yaml', `apiVersion: drover.dev/v1alpha1\nkind: AgentDeployment\nmetadata: {name: d, namespace: shop2}\nspec: {agentType: t, replicas: 0, template: {}}\n`);
    const r = await run(['apply', '--applyset', 'web', '--prune', '-f', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'agentdeployment.drover.dev/d created', 'container.drover.dev/a created', 'container.drover.dev/b created', 'container.drover.dev/c created',
    ]);
    const parent = (await api(m, 'GET', `${G}/namespaces/default/applysets/web`)).body;
    const id = parent.metadata.labels['applyset.drover.dev/id'];
    expect(id).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
    expect(parent.spec).toEqual({ tooling: expect.stringMatching(/^drover\//), groupKinds: ['AgentDeployment.drover.dev', 'Container.drover.dev'], namespaces: ['shop', 'shop2'] });
    const a = (await api(m, 'GET', `${G}/namespaces/shop/containers/a`)).body;
    expect(a.metadata.labels).toEqual({ tier: 'x', 'applyset.drover.dev/part-of': id });
    expect((await run(['get', 'applysets'])).stdout).toMatch(/^web\s+AgentDeployment\.drover\.dev,Container\.drover\.dev\s+shop,shop2\s/m);
  });

  it('--prune deletes members the manifests lack; an unlabelled object and another set\'s member of the same kind survive', async () => {
    expect((await api(m, 'POST', `${G}/namespaces/shop/containers`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'by-hand' }, spec: { image: 'x', state: 'Stopped' } })).status).toBe(201);
    expect((await run(['apply', '--applyset', 'db', '-f', '-'], container('db-1', 'shop'))).code).toBe(0);
    write('b.yaml', null);
    write('d.yaml', null);
    const r = await run(['apply', '--applyset', 'web', '--prune', '-f', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('container.drover.dev/a unchanged\ncontainer.drover.dev/c unchanged\nagentdeployment.drover.dev/d pruned\ncontainer.drover.dev/b pruned\n');
    expect(await exists('containers', 'shop', 'b')).toBe(false);
    expect(await exists('agentdeployments', 'shop2', 'd')).toBe(false);
    for (const n of ['a', 'c', 'by-hand', 'db-1']) expect([n, await exists('containers', 'shop', n)]).toEqual([n, true]);
    // the parent now records only where members are
    expect((await api(m, 'GET', `${G}/namespaces/default/applysets/web`)).body.spec).toMatchObject({ groupKinds: ['Container.drover.dev'], namespaces: ['shop'] });
  });

  it('--dry-run (client and server) lists what would be pruned and deletes nothing', async () => {
    write('c.yaml', null);
    for (const [flag, suffix] of [['--dry-run', ' (dry run)'], ['--dry-run=server', ' (server dry run)']]) {
      const r = await run(['apply', '--applyset', 'web', '--prune', flag, '-f', dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`container.drover.dev/c pruned${suffix}\n`);
      expect(await exists('containers', 'shop', 'c')).toBe(true);
    }
  });

  it('-l limits both the apply and the prune to matching objects', async () => {
    write('a.yaml', null); // tier x, gone from the files
    // c (tier y) is gone from the files too, but the selector keeps it out of reach
    const r = await run(['apply', '--applyset', 'web', '--prune', '-l', 'tier=x', '-f', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('container.drover.dev/a pruned\n');
    expect(await exists('containers', 'shop', 'a')).toBe(false);
    expect(await exists('containers', 'shop', 'c')).toBe(true);
  });

  it('refuses to take over an object of another set, and then prunes nothing', async () => {
    write('db.yaml', container('db-1', 'shop'));
    write('e.yaml', container('e', 'shop'));
    const r = await run(['apply', '--applyset', 'web', '--prune', '-f', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('container.drover.dev/e created\n');
    expect(r.stderr).toMatch(/container\.drover\.dev\/db-1: it belongs to another apply set \(applyset\.drover\.dev\/part-of=applyset-\S+\) and is not taken over/);
    expect(r.stderr).toContain('not pruning apply set web: 1 object failed to apply');
    expect(await exists('containers', 'shop', 'c')).toBe(true);
    write('db.yaml', null);
  });

  it('with no manifests left, --prune removes every member; --prune without --applyset is a usage error', async () => {
    for (const f of ['e.yaml']) write(f, null);
    const r = await run(['apply', '--applyset', 'web', '--prune', '-f', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['container.drover.dev/c pruned', 'container.drover.dev/e pruned']);
    for (const n of ['by-hand', 'db-1']) expect([n, await exists('containers', 'shop', n)]).toEqual([n, true]);
    const usage = await run(['apply', '--prune', '-f', dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--prune needs --applyset NAME');
  });
});

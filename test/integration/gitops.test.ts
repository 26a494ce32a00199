// Issue 8 from outside: a real manager syncs GitRepositories from local bare repositories the test makes and
// commits to with the git CLI (and one over http through `git http-backend`, with a token). Containers are
// `state: Stopped` in a Cluster without nodes, so nothing but the control plane runs.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { api, cleanup, drover, eventually, sleep, startManager, tempDir, track, type ManagerProcess } from '../helpers/processes.ts';

const G = '/apis/drover.dev/v1alpha1';
const NS = 'gitops';
const INTERVAL_S = 2;
let m: ManagerProcess;
const run = (args: string[], opts: { input?: string; token?: string } = {}) =>
  drover([...(opts.token ? ['--token', opts.token] : []), ...args], { config: m.configPath, input: opts.input });

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

interface Repo { bare: string; work: string }

/** A bare repository (its HEAD on main) and a work clone to commit from. */
function newRepo(name: string): Repo {
  const dir = tempDir(`drover-git-${name}-`);
  const bare = join(dir, `${name}.git`);
  const work = join(dir, 'work');
  git(dir, 'init', '--quiet', '--bare', bare);
  git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  git(dir, 'init', '--quiet', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', bare);
  return { bare, work };
}

/** Write (string) or remove (null) files, commit, push; returns the commit id. */
function commit(r: Repo, files: Record<string, string | null>, message = 'change'): string {
  for (const [path, text] of Object.entries(files)) {
    const p = join(r.work, path);
    if (text === null) rmSync(p, { force: true });
    else {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
    }
  }
  git(r.work, 'add', '-A');
  git(r.work, 'commit', '--quiet', '--allow-empty', '-m', message);
  git(r.work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return git(r.work, 'rev-parse', 'HEAD');
}

const container = (name: string, image: string, labels: Record<string, string> = {}) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata:
  name: ${name}
  labels: ${JSON.stringify({ app: name, ...labels })}
spec:
  image: ${image}
  command: [sleep, "1000"]
  state: Stopped
  ports: [{containerPort: 8080}]
`;

function gitRepository(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'GitRepository', metadata: { name, namespace: NS }, spec: { interval: `${INTERVAL_S}s`, ...spec } };
}
const createRepo = async (name: string, spec: Record<string, unknown>) => {
  const r = await api(m, 'POST', `${G}/namespaces/${NS}/gitrepositories`, gitRepository(name, spec));
  expect(r.status).toBe(201);
};
const getRepo = async (name: string) => (await api(m, 'GET', `${G}/namespaces/${NS}/gitrepositories/${name}`)).body;
const getContainer = async (name: string) => {
  const r = await api(m, 'GET', `${G}/namespaces/${NS}/containers/${name}`);
  return r.status === 200 ? r.body : undefined;
};
const ready = (obj: any) => obj?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
/** Wait until the GitRepository has applied `revision` and is Ready. */
const appliedAt = (name: string, revision: string, timeoutMs = 15_000) => eventually(`${name} Ready at ${revision.slice(0, 12)}`, async () => {
  const o = await getRepo(name);
  return o.status?.lastAppliedRevision === revision && ready(o)?.status === 'True' ? o : undefined;
}, timeoutMs);
/** The store's global revision: a list answers with it. */
const storeRevision = async () => Number((await api(m, 'GET', `${G}/clusters`)).body.metadata.resourceVersion);
const events = async (reason: string) => (await api(m, 'GET', `${G}/namespaces/${NS}/events`)).body.items.filter((e: { reason: string }) => e.reason === reason);

beforeAll(async () => {
  m = await startManager({ extraArgs: ['--rate-limit', '0'], env: { DROVER_LOG_LEVEL: 'debug' } });
  expect((await run(['apply', '-f', '-'], { input: `apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${NS}}\n` })).code).toBe(0);
}, 60_000);
afterAll(cleanup);

describe('a GitRepository synced at its interval', () => {
  const r = newRepo('apps');
  let first: string;

  it('applies the first revision, with status, inventory and a printer row', async () => {
    first = commit(r, { 'apps/web.yaml': container('web', 'web:1'), 'apps/api.yml': container('api', 'api:1'), 'README.md': '# not a manifest\n', '.github/ci.yml': 'on: push\n' });
    await createRepo('apps', { url: r.bare, path: 'apps' });
    const o = await appliedAt('apps', first);
    expect(o.status.lastAttemptedRevision).toBe(first);
    expect(o.status.inventory).toEqual([{ kind: 'Container', namespace: NS, name: 'api' }, { kind: 'Container', namespace: NS, name: 'web' }]);
    expect(o.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'Reconciling=False', 'Stalled=False']);
    expect((await getContainer('web')).spec.image).toBe('web:1');
    const get = await run(['get', 'gitrepositories', '-n', NS]);
    expect(get.stdout.split('\n')[0]).toMatch(/^NAME\s+URL\s+REF\s+REVISION\s+READY\s+AGE$/);
    expect(get.stdout).toMatch(new RegExp(`^apps\\s+${r.bare}\\s+<none>\\s+${first}\\s+True\\s`, 'm'));
    const status = await run(['gitops', 'status', '-n', NS]);
    expect(status.stdout.split('\n')[0]).toMatch(/^NAME\s+URL\s+REVISION\s+READY\s+MESSAGE\s+LAST SYNC$/);
    expect(status.stdout).toMatch(new RegExp(`^apps\\s+${r.bare}\\s+${first.slice(0, 12)}\\s+True\\s+Applied revision ${first.slice(0, 12)} \\(2 objects\\)\\s+\\d+s$`, 'm'));
  });

  it('a new commit is applied within the interval, without being asked', async () => {
    const pushed = Date.now();
    const rev = commit(r, { 'apps/cache.yaml': container('cache', 'cache:1') }, 'add cache');
    await appliedAt('apps', rev, INTERVAL_S * 1000 + 8000);
    expect((await getContainer('cache')).spec.image).toBe('cache:1');
    expect(Date.now() - pushed).toBeLessThan(INTERVAL_S * 1000 + 8000);
  });

  it('a changed file → the object is configured', async () => {
    const before = await getContainer('web');
    const rev = commit(r, { 'apps/web.yaml': container('web', 'web:2', { tier: 'front' }) }, 'web 2');
    await appliedAt('apps', rev);
    const after = await getContainer('web');
    expect(after.spec.image).toBe('web:2');
    expect(after.metadata.labels.tier).toBe('front');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect((await events('Applied')).map((e: { message: string }) => e.message)).toContain(`revision ${rev.slice(0, 12)}: 1 configured`);
  });

  it('a removed file → pruned; a hand-made object of the same kind, and one of another apply set, survive', async () => {
    expect((await api(m, 'POST', `${G}/namespaces/${NS}/containers`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'by-hand' }, spec: { image: 'x', state: 'Stopped' } })).status).toBe(201);
    const other = await run(['apply', '-n', NS, '--applyset', 'other', '-f', '-'], { input: container('other-set', 'o:1') });
    expect(other.code).toBe(0);
    const rev = commit(r, { 'apps/api.yml': null }, 'drop api');
    await appliedAt('apps', rev);
    await eventually('api pruned', async () => (await getContainer('api')) === undefined || (await getContainer('api')).metadata.deletionTimestamp);
    expect(await getContainer('by-hand')).toBeDefined();
    expect(await getContainer('other-set')).toBeDefined();
    expect((await getRepo('apps')).status.inventory.map((i: { name: string }) => i.name)).toEqual(['cache', 'web']);
  });

  it('a broken commit → nothing of it applied, file:line errors in the status, the previous revision stays', async () => {
    const good = (await getRepo('apps')).status.lastAppliedRevision;
    const bad = commit(r, {
      'apps/web.yaml': container('web', 'web:3', { tier: 'front' }),  // a good change in the same commit: not applied either
      'apps/new.yaml': container('new', 'new:1'),                     // a new object: not created
      'apps/broken.yaml': 'apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: broken}\nspec:\n  image: b\n  restartPolicy: Sometimes\n  replicas: 3\n',
      'apps/syntax.yaml': 'apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: s\nspec: {}\n',
    }, 'broken');
    const o = await eventually('the broken revision attempted', async () => {
      const x = await getRepo('apps');
      return x.status?.lastAttemptedRevision === bad && ready(x)?.reason === 'ValidationFailed' ? x : undefined;
    }, 15_000);
    expect(o.status.lastAppliedRevision).toBe(good);
    expect(o.status.errors).toEqual([
      'apps/broken.yaml:6:18: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      'apps/broken.yaml:7:13: spec.replicas: unknown field "spec.replicas"',
      expect.stringMatching(/^apps\/syntax\.yaml:\d+:\d+: YAML syntax error/),
    ]);
    expect(ready(o).message).toContain(`revision ${good.slice(0, 12)} stays applied`);
    expect(o.status.conditions.find((c: { type: string }) => c.type === 'Stalled').status).toBe('True');
    expect((await getContainer('web')).spec.image).toBe('web:2');
    expect(await getContainer('new')).toBeUndefined();
    expect((await events('ValidationFailed')).length).toBe(1);
    // the CLI says so, with the locations, and exits 1
    const sync = await run(['gitops', 'sync', 'apps', '-n', NS]);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('apps/broken.yaml:6:18: spec.restartPolicy');
    expect(sync.stderr).toMatch(/ValidationFailed: revision \w+ rejected, nothing of it applied/);
    // fixed: the whole revision applies
    const fixed = commit(r, { 'apps/broken.yaml': null, 'apps/syntax.yaml': null }, 'fix');
    await appliedAt('apps', fixed);
    expect((await getContainer('web')).spec.image).toBe('web:3');
    expect(await getContainer('new')).toBeDefined();
    expect((await getRepo('apps')).status.errors).toBeUndefined();
  });

  it('a manual edit through the API → set back at the next interval, with an Event naming the fields', async () => {
    const p = await api(m, 'PATCH', `${G}/namespaces/${NS}/containers/web`, { metadata: { labels: { tier: 'hacked', extra: 'kept' } }, spec: { image: 'evil:1', restartPolicy: 'Never' } }, 'application/merge-patch+json');
    expect(p.status).toBe(200);
    const fixed = await eventually('web set back', async () => {
      const c = await getContainer('web');
      return c.spec.image === 'web:3' ? c : undefined;
    }, INTERVAL_S * 1000 + 8000);
    expect(fixed.metadata.labels).toMatchObject({ tier: 'front', extra: 'kept' }); // only what the repository sets
    expect(fixed.spec.restartPolicy).toBe('Never');
    const drift = (await events('DriftCorrected')).filter((e: { involvedObject: { name: string } }) => e.involvedObject.name === 'web');
    expect(drift).toHaveLength(1);
    expect(drift[0].message).toMatch(/^set back spec\.image, metadata\.labels\[tier\]: changed outside git \(GitRepository gitops\/apps at revision \w{12}\)$/);
    expect(drift[0].type).toBe('Warning');
  });

  it('a member deleted by hand is created again', async () => {
    expect((await api(m, 'DELETE', `${G}/namespaces/${NS}/containers/cache`)).status).toBe(200);
    await eventually('cache back', async () => (await getContainer('cache'))?.metadata.deletionTimestamp === undefined && await getContainer('cache'), INTERVAL_S * 1000 + 8000);
    expect((await events('DriftCorrected')).some((e: { involvedObject: { name: string }; message: string }) => e.involvedObject.name === 'cache' && e.message.startsWith('created again'))).toBe(true);
  });

  it('a sync with no changes writes nothing: the store revision stays put over several intervals', async () => {
    await sleep(1500); // let the Container controller settle after the re-creation above
    const before = await storeRevision();
    const logBefore = m.output().split('\n').filter((l) => l.includes('gitops sync finished') && l.includes('"key":"gitops/apps"')).length;
    await sleep(INTERVAL_S * 1000 * 3 + 500);
    const after = await storeRevision();
    const syncs = m.output().split('\n').filter((l) => l.includes('gitops sync finished') && l.includes('"key":"gitops/apps"')).slice(logBefore);
    expect(syncs.length).toBeGreaterThanOrEqual(2);
    for (const l of syncs) expect(l).toContain('"writes":"none"');
    expect(after).toBe(before);
  });

  it('a requested sync with no changes writes only the request and its acknowledgement', async () => {
    const before = await storeRevision();
    const members = await Promise.all(['web', 'cache', 'new'].map(async (n) => (await getContainer(n)).metadata.resourceVersion));
    const sync = await run(['gitops', 'sync', 'apps', '-n', NS]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/^gitrepository\.drover\.dev\/apps sync requested\nsynced: revision \w{12} applied — Applied revision \w{12} \(3 objects\)\n$/);
    await sleep(500);
    expect(await storeRevision()).toBe(before + 2);
    expect(await Promise.all(['web', 'cache', 'new'].map(async (n) => (await getContainer(n)).metadata.resourceVersion))).toEqual(members);
  });

  it('suspend stops syncing (no new revision, no drift correction) until resumed', async () => {
    expect((await api(m, 'PATCH', `${G}/namespaces/${NS}/gitrepositories/apps`, { spec: { suspend: true } }, 'application/merge-patch+json')).status).toBe(200);
    await sleep(500);
    const rev = commit(r, { 'apps/late.yaml': container('late', 'late:1') }, 'while suspended');
    await api(m, 'PATCH', `${G}/namespaces/${NS}/containers/web`, { spec: { image: 'hand:1' } }, 'application/merge-patch+json');
    await sleep(INTERVAL_S * 1000 * 2 + 1000);
    expect(await getContainer('late')).toBeUndefined();
    expect((await getContainer('web')).spec.image).toBe('hand:1');
    const status = await run(['gitops', 'status', 'apps', '-n', NS]);
    expect(status.stdout).toMatch(/^apps\s+\S+\s+\w{12}\s+Suspended\s/m);
    const refused = await run(['gitops', 'sync', 'apps', '-n', NS]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is suspended');
    expect((await api(m, 'PATCH', `${G}/namespaces/${NS}/gitrepositories/apps`, { spec: { suspend: false } }, 'application/merge-patch+json')).status).toBe(200);
    await appliedAt('apps', rev);
    expect(await getContainer('late')).toBeDefined();
    expect((await getContainer('web')).spec.image).toBe('web:3');
  });
});

describe('the webhook', () => {
  const r = newRepo('hooked');
  const tokens: Record<string, string> = {};
  const hook = (token: string, name = 'hooked') => api({ url: m.url, token }, 'POST', `/api/v1/gitops/${NS}/${name}/hook`);

  beforeAll(async () => {
    expect((await run(['apply', '-f', '-'], { input: 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: elsewhere}\n' })).code).toBe(0);
    for (const [who, args] of Object.entries({ viewer: ['--role', 'viewer'], operator: ['--role', 'operator'], operatorHere: ['--role', 'operator', '--cluster', NS], operatorElsewhere: ['--role', 'operator', '--cluster', 'elsewhere'] })) {
      const t = await run(['token', 'create', ...args, '--ttl', '1h']);
      expect(t.code).toBe(0);
      tokens[who] = t.stdout.trim();
    }
  }, 30_000);

  it('triggers a sync at once (the interval is an hour); viewers and tokens of another Cluster get 403', async () => {
    const first = commit(r, { 'one.yaml': container('hooked-one', 'h:1') });
    await createRepo('hooked', { url: `file://${r.bare}`, ref: { branch: 'main' }, interval: '1h' });
    await appliedAt('hooked', first);
    const second = commit(r, { 'two.yaml': container('hooked-two', 'h:2') });
    await sleep(1500);
    expect(await getContainer('hooked-two')).toBeUndefined(); // not before the next interval, an hour away
    for (const who of ['viewer', 'operatorElsewhere']) {
      const denied = await hook(tokens[who]);
      expect([who, denied.status, denied.body.reason]).toEqual([who, 403, 'Forbidden']);
    }
    expect((await hook(m.token, 'missing')).status).toBe(404);
    const t0 = Date.now();
    const ok = await hook(tokens.operatorHere);
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ namespace: NS, name: 'hooked', requestedAt: expect.any(String) });
    await appliedAt('hooked', second, 10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await getContainer('hooked-two')).toBeDefined();
    const third = commit(r, { 'three.yaml': container('hooked-three', 'h:3') });
    expect((await hook(tokens.operator)).status).toBe(202);
    await appliedAt('hooked', third, 10_000);
  });

  it('drover gitops sync --no-wait returns at once; sync without --no-wait follows the status', async () => {
    const rev = commit(r, { 'four.yaml': container('hooked-four', 'h:4') });
    const noWait = await run(['gitops', 'sync', 'hooked', '-n', NS, '--no-wait']);
    expect(noWait.code).toBe(0);
    expect(noWait.stdout).toBe('gitrepository.drover.dev/hooked sync requested\n');
    await appliedAt('hooked', rev, 10_000);
    const rev2 = commit(r, { 'five.yaml': container('hooked-five', 'h:5') });
    const waited = await run(['gitops', 'sync', 'hooked', '-n', NS]);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain(`synced: revision ${rev2.slice(0, 12)} applied`);
    expect(await getContainer('hooked-five')).toBeDefined();
  });
});

describe('dependsOn', () => {
  it('applies a repository only after the ones it depends on are Ready at their latest revision', async () => {
    const base = newRepo('base');
    const apps = newRepo('dependent');
    const baseRev = commit(base, { 'db.yaml': container('dep-db', 'db:1') });
    const appsRev = commit(apps, { 'app.yaml': container('dep-app', 'app:1') });
    await createRepo('dependent', { url: apps.bare, dependsOn: ['base'] });
    const waiting = await eventually('dependent waiting', async () => {
      const o = await getRepo('dependent');
      return ready(o)?.reason === 'DependencyNotReady' ? o : undefined;
    });
    expect(ready(waiting).message).toBe(`waiting for GitRepository ${NS}/base (not found)`);
    await sleep(INTERVAL_S * 1000 + 500);
    expect(await getContainer('dep-app')).toBeUndefined();
    await createRepo('base', { url: base.bare });
    await appliedAt('base', baseRev);
    await appliedAt('dependent', appsRev);
    const db = await getContainer('dep-db');
    const app = await getContainer('dep-app');
    // one global revision counter orders every write: the dependency's object was stored first
    expect(Number(app.metadata.resourceVersion)).toBeGreaterThan(Number(db.metadata.resourceVersion));
    // a broken revision of the dependency holds the dependent's next revision back
    const broken = commit(base, { 'db.yaml': 'apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: dep-db}\nspec: {image: 5}\n' });
    await eventually('base rejected', async () => (await getRepo('base')).status?.lastAttemptedRevision === broken, 15_000);
    commit(apps, { 'app.yaml': container('dep-app', 'app:2') });
    const held = await eventually('dependent waits for the broken base', async () => {
      const o = await getRepo('dependent');
      return ready(o)?.reason === 'DependencyNotReady' ? o : undefined;
    }, 15_000);
    expect(ready(held).message).toBe(`waiting for GitRepository ${NS}/base (not Ready (ValidationFailed))`);
    expect((await getContainer('dep-app')).spec.image).toBe('app:1');
    expect(held.status.lastAppliedRevision).toBe(appsRev);
  });
});

describe('deleting a GitRepository', () => {
  it('prunes its members (prune: true), and only them', async () => {
    const r = newRepo('gone');
    const rev = commit(r, { 'a.yaml': container('gone-a', 'a:1'), 'b.yaml': container('gone-b', 'b:1') });
    await createRepo('gone', { url: r.bare });
    await appliedAt('gone', rev);
    expect((await api(m, 'DELETE', `${G}/namespaces/${NS}/gitrepositories/gone`)).status).toBe(200);
    await eventually('members and the GitRepository gone', async () => {
      const left = await Promise.all(['gone-a', 'gone-b'].map(getContainer));
      const repo = await api(m, 'GET', `${G}/namespaces/${NS}/gitrepositories/gone`);
      return repo.status === 404 && left.every((c) => !c || c.metadata.deletionTimestamp);
    }, 15_000);
    expect(await getContainer('web')).toBeDefined();
  });
});

describe('sources', () => {
  it('an http repository with a token (secretRef) through git http-backend; a wrong token is a fetch error', async () => {
    const r = newRepo('remote');
    const rev = commit(r, { 'x.yaml': container('over-http', 'h:1') });
    const server = await gitHttpServer(dirname(r.bare), 's3cret-token');
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/remote.git`;
      mkdirSync(join(m.dataDir, 'gitops', 'secrets'), { recursive: true });
      writeFileSync(join(m.dataDir, 'gitops', 'secrets', 'good'), 's3cret-token\n');
      writeFileSync(join(m.dataDir, 'gitops', 'secrets', 'bad'), 'wrong\n');
      await createRepo('over-http', { url, secretRef: { tokenFile: 'good' } });
      await appliedAt('over-http', rev);
      await createRepo('wrong-token', { url, secretRef: { tokenFile: 'bad' } });
      await createRepo('escape', { url, secretRef: { tokenFile: '../../admin.config' } });
      const wrong = await eventually('fetch failed', async () => (ready(await getRepo('wrong-token'))?.reason === 'FetchFailed' ? getRepo('wrong-token') : undefined));
      expect(ready(wrong).message).toMatch(/^cannot fetch the default branch from http:\/\/127\.0\.0\.1:\d+\/remote\.git: /);
      const escape = await eventually('escape refused', async () => (ready(await getRepo('escape'))?.reason === 'FetchFailed' ? getRepo('escape') : undefined));
      expect(ready(escape).message).toContain('must name a file inside');
      expect(JSON.stringify(await getRepo('over-http'))).not.toContain('s3cret');
    } finally {
      server.close();
    }
  });

  it('refuses urls that are not a path, file:// or http(s), at admission and in the controller', async () => {
    for (const url of ['--upload-pack=touch /tmp/pwned', 'ext::sh -c touch% /tmp/pwned', 'ssh://git@example.com/x.git', 'relative/dir']) {
      const r = await api(m, 'POST', `${G}/namespaces/${NS}/gitrepositories`, gitRepository('bad-url', { url }));
      expect([url, r.status]).toEqual([url, 422]);
    }
  });
});

/** `git http-backend` behind a Node http server on 127.0.0.1 that wants `Authorization: Bearer <token>`. */
async function gitHttpServer(root: string, token: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="git"' }).end('no');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const child = track(spawn('git', ['http-backend'], {
      env: {
        ...GIT_ENV, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: url.pathname, QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET', CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    }));
    req.pipe(child.stdin);
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('close', () => {
      const all = Buffer.concat(out);
      const end = all.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      let code = 200;
      for (const line of all.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') code = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(code, headers).end(all.subarray(end + 4));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return server;
}

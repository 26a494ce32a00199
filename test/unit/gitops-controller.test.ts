// Harness: a real :memory: SQLite store, the GitOps controller on shared informers, a fake git source (commits
// as lists of files) and a fake clock for the interval. What a user would notice: objects and status in the
// store, and the store's revision when nothing should be written.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.ts';
import { loadRegistry } from '../../core/crds.ts';
import { nullLogger } from '../../core/logging.ts';
import { FakeClock } from '../../core/clock.ts';
import { createValidator } from '../../core/validation.ts';
import { APPLYSET_PART_OF_LABEL } from '../../core/apply-set.ts';
import type { KubeObject } from '../../core/types.ts';
import { createControllerManager, type ControllerManager } from '../../controllers/controller-manager.ts';
import { storeListerWatcher } from '../../controllers/store-lister-watcher.ts';
import { createGitOpsController } from '../../controllers/gitops-controller.ts';
import type { Controller } from '../../controllers/controller.ts';
import type { GitSource } from '../../controllers/git-source.ts';
import type { RevisionFile } from '../../reconcilers/gitops-revision.ts';
import { RETRY_MS } from '../../reconcilers/gitops-sync.ts';

const V = 'drover.dev/v1alpha1';
const K = { cluster: 'clusters.drover.dev', repo: 'gitrepositories.drover.dev', container: 'containers.drover.dev' };
const registry = loadRegistry();
const validator = createValidator(registry);

class FakeGit implements GitSource {
  commits = new Map<string, RevisionFile[]>();
  head = '';
  fetches = 0;
  failWith?: string;
  commit(files: Record<string, string>): string {
    const id = (this.commits.size + 1).toString(16).padStart(40, 'a');
    this.commits.set(id, Object.entries(files).map(([path, text]) => ({ path, text })));
    this.head = id;
    return id;
  }
  async fetch(): Promise<string> {
    this.fetches++;
    if (this.failWith) throw new Error(this.failWith);
    return this.head;
  }
  async readFiles(_key: string, _url: string, commit: string) {
    return { files: this.commits.get(commit) ?? [], problems: [] };
  }
  remove(): void {}
}

const container = (name: string, image: string) => `apiVersion: ${V}\nkind: Container\nmetadata: {name: ${name}}\nspec: {image: "${image}", state: Stopped}\n`;

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let store: SqliteStore;
let manager: ControllerManager;
let controller: Controller;
let git: FakeGit;
let clock: FakeClock;
let secrets: string;

const repo = () => store.get(K.repo, 'c1', 'apps');
const ready = (o: KubeObject) => (o.status?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');
const appliedAt = (rev: string) => eventually(async () => {
  const o = await repo();
  return o.status?.lastAppliedRevision === rev && ready(o)?.status === 'True' ? o : undefined;
}, `revision ${rev} applied`);

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' });
  clock = new FakeClock(Date.now());
  git = new FakeGit();
  secrets = mkdtempSync(join(tmpdir(), 'drover-gitops-secrets-'));
  const logger = nullLogger();
  manager = createControllerManager({ listerWatcherFor: (key) => storeListerWatcher(store, key), logger, clock });
  controller = createGitOpsController({
    informers: manager, store, registry, logger, clock, git, secretsDir: secrets,
    admit: async (rt, obj) => validator.admit(rt, obj),
  });
  manager.add(controller);
  await store.create(K.cluster, { apiVersion: V, kind: 'Cluster', metadata: { name: 'c1' }, spec: {} });
  await manager.start();
});

afterEach(async () => {
  await manager.stop();
  await store.close();
  rmSync(secrets, { recursive: true, force: true });
});

async function createRepo(spec: Record<string, unknown> = {}): Promise<void> {
  await store.create(K.repo, { apiVersion: V, kind: 'GitRepository', metadata: { name: 'apps', namespace: 'c1' }, spec: { url: '/srv/git/apps.git', interval: '1m', ...spec } });
}

describe('the GitOps controller', () => {
  it('applies a revision, then writes nothing at all while nothing changes, however often it syncs', async () => {
    const rev = git.commit({ 'web.yaml': container('web', 'web:1'), 'db.yaml': container('db', 'db:1') });
    await createRepo();
    const o = await appliedAt(rev);
    expect(o.metadata.finalizers).toEqual(['gitops.drover.dev/prune']);
    const web = await store.get(K.container, 'c1', 'web');
    expect(web.metadata.labels![APPLYSET_PART_OF_LABEL]).toMatch(/^applyset-/);
    const before = await store.revision();
    const fetches = git.fetches;
    for (let i = 0; i < 3; i++) {
      await clock.advanceAsync(60_000); // each interval: a fetch and a full comparison
      await eventually(async () => git.fetches > fetches + i && controller.queue.len() === 0, `sync ${i + 1}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(git.fetches).toBeGreaterThanOrEqual(fetches + 3);
    expect(await store.revision()).toBe(before);
  });

  it('a failed fetch is retried before the interval is over', async () => {
    git.commit({ 'web.yaml': container('web', 'web:1') });
    git.failWith = 'fatal: unable to access the remote';
    await createRepo({ interval: '1h' });
    await eventually(async () => ready(await repo())?.reason === 'FetchFailed', 'FetchFailed');
    expect(ready(await repo())!.message).toBe('fatal: unable to access the remote');
    git.failWith = undefined;
    const rev = git.commit({ 'web.yaml': container('web', 'web:2') });
    await clock.advanceAsync(RETRY_MS);
    await appliedAt(rev);
  });

  it('rejects a revision whose object belongs to another apply set, at its file:line, and takes nothing over', async () => {
    await store.create(K.container, { apiVersion: V, kind: 'Container', metadata: { name: 'db', namespace: 'c1', labels: { [APPLYSET_PART_OF_LABEL]: 'applyset-other-v1' } }, spec: { image: 'theirs' } });
    const rev = git.commit({ 'a.yaml': container('web', 'web:1'), 'b.yaml': `# the database\n${container('db', 'mine')}` });
    await createRepo();
    const o = await eventually(async () => {
      const x = await repo();
      return x.status?.lastAttemptedRevision === rev ? x : undefined;
    }, 'attempt');
    expect(ready(o)!.reason).toBe('ValidationFailed');
    expect(o.status!.errors).toEqual([expect.stringMatching(/^b\.yaml:4:18: metadata\.name: Container "db" already exists and belongs to another apply set \(applyset\.drover\.dev\/part-of=applyset-other-v1\)/)]);
    expect((await store.get(K.container, 'c1', 'db')).spec!.image).toBe('theirs');
    await expect(store.get(K.container, 'c1', 'web')).rejects.toMatchObject({ code: 404 });
  });

  it('an unusable spec is Stalled without fetching', async () => {
    await store.create(K.repo, { apiVersion: V, kind: 'GitRepository', metadata: { name: 'apps', namespace: 'c1' }, spec: { url: 'ssh://git@example.com/x.git' } });
    const o = await eventually(async () => (ready(await repo())?.reason === 'InvalidSpec' ? repo() : undefined), 'InvalidSpec');
    expect((o.status!.conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Stalled')!.status).toBe('True');
    expect(git.fetches).toBe(0);
  });
});

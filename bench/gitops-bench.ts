// GitOps benchmark against a real manager (embedded SQLite store, --rate-limit 0):
//  1. converge a fresh repository of N objects (one GitRepository: fetch, validate all, create all),
//  2. converge a commit that changes M of them (sync asked for through the webhook, so no interval wait),
//  3. a sync with nothing to do (how long, and how many store writes: the request and its acknowledgement only),
//  4. R GitRepositories of K objects each, created at once, until all are Ready (closer to Flux's unit of work).
// Objects are Containers with `state: Stopped` in a Cluster without nodes: no node is needed, but the Container
// controller still reconciles each one (finalizer, status, a FailedScheduling Event) while GitOps applies.
// Usage: node bench/gitops-bench.ts [--objects 1000] [--files 100] [--changed 100] [--repos 100] [--per-repo 10]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, sleep, startBenchManager, type Bench } from './bench-util.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const OBJECTS = Number(args.get('objects') ?? 1000);
const FILES = Number(args.get('files') ?? 100);
const CHANGED = Number(args.get('changed') ?? 100);
const REPOS = Number(args.get('repos') ?? 100);
const PER_REPO = Number(args.get('per-repo') ?? 10);
const NS = 'bench';
const G = '/apis/drover.dev/v1alpha1';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@example.com', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const git = (cwd: string, ...a: string[]) => execFileSync('git', a, { cwd, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
const root = mkdtempSync(join(tmpdir(), 'drover-gitops-bench-'));

function newRepo(name: string): { bare: string; work: string } {
  const bare = join(root, `${name}.git`);
  const work = join(root, `${name}-work`);
  git(root, 'init', '--quiet', '--bare', bare);
  git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  git(root, 'init', '--quiet', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', bare);
  return { bare, work };
}

const container = (name: string, image: string) =>
  `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${name}, labels: {app: bench}}\nspec:\n  image: ${image}\n  command: [sleep, "1000"]\n  state: Stopped\n  ports: [{containerPort: 8080}]\n  resources: {requests: {cpu: 10m, memory: 16Mi}}\n`;

/** N objects in `files` files (documents separated by ---); object i gets image `tag(i)`. */
function writeObjects(work: string, prefix: string, n: number, files: number, tag: (i: number) => string): void {
  mkdirSync(join(work, 'apps'), { recursive: true });
  const per = Math.ceil(n / files);
  for (let f = 0; f * per < n; f++) {
    const docs: string[] = [];
    for (let i = f * per; i < Math.min(n, (f + 1) * per); i++) docs.push(container(`${prefix}-${String(i).padStart(4, '0')}`, tag(i)));
    writeFileSync(join(work, 'apps', `part-${String(f).padStart(3, '0')}.yaml`), docs.join('---\n'));
  }
}

function commitAll(work: string, message: string): string {
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', message);
  git(work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return git(work, 'rev-parse', 'HEAD');
}

const ready = (o: any) => o?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
async function waitApplied(b: Bench, name: string, revision: string, timeoutMs = 600_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await b.call('GET', `${G}/namespaces/${NS}/gitrepositories/${name}`);
    if (o.status?.lastAppliedRevision === revision && ready(o)?.status === 'True') return o;
    if (ready(o)?.reason === 'ValidationFailed') throw new Error(`${name}: ${ready(o).message}`);
    if (Date.now() > deadline) throw new Error(`${name} not applied within ${timeoutMs} ms: ${JSON.stringify(o.status)}`);
    await sleep(50);
  }
}
const storeRevision = async (b: Bench) => Number((await b.call('GET', `${G}/clusters`)).metadata.resourceVersion);
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// The small repositories of part 4 are made before the manager starts: making them blocks this process for
// seconds, long enough for the manager to close idle keep-alive connections under a pending request.
const revs: string[] = [];
for (let r = 0; r < REPOS; r++) {
  const repo = newRepo(`small-${r}`);
  writeObjects(repo.work, `s${r}`, PER_REPO, 1, () => 'bench:1');
  revs.push(commitAll(repo.work, 'first'));
}

const b = await startBenchManager();
try {
  await b.call('POST', `${G}/clusters`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: NS } });
  console.log(`gitops-bench: ${machine()}; ${OBJECTS} Containers (state: Stopped, no nodes) in ${FILES} files`);

  // 1. a fresh repository
  const big = newRepo('big');
  writeObjects(big.work, 'c', OBJECTS, FILES, () => 'bench:1');
  const rev1 = commitAll(big.work, 'first');
  let t0 = performance.now();
  await b.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'GitRepository', metadata: { name: 'big' }, spec: { url: big.bare, path: 'apps', interval: '10m' },
  });
  const first = await waitApplied(b, 'big', rev1);
  const fresh = performance.now() - t0;
  const count = (await b.call('GET', `${G}/namespaces/${NS}/containers?labelSelector=app%3Dbench`)).items.length;
  console.log(`1. fresh repository, ${OBJECTS} objects → Ready: ${fmt(fresh)} (${Math.round(OBJECTS / (fresh / 1000))} objects/s; ${count} Containers stored, inventory ${first.status.inventory.length})`);

  // 2. a commit that changes CHANGED of them, synced through the webhook
  await sleep(2000); // let the Container controller finish its own writes for the first batch
  const step = Math.max(1, Math.floor(OBJECTS / CHANGED)); // every step-th object, CHANGED of them, spread over the files
  writeObjects(big.work, 'c', OBJECTS, FILES, (i) => (i % step === 0 && i / step < CHANGED ? 'bench:2' : 'bench:1'));
  const rev2 = commitAll(big.work, 'change');
  t0 = performance.now();
  await b.call('POST', `/api/v1/gitops/${NS}/big/hook`);
  await waitApplied(b, 'big', rev2);
  const changedMs = performance.now() - t0;
  const events = (await b.call('GET', `${G}/namespaces/${NS}/events`)).items.filter((e: any) => e.reason === 'Applied' && e.involvedObject.name === 'big').map((e: any) => e.message);
  console.log(`2. commit changing ${CHANGED} objects → Ready (webhook, no interval wait): ${fmt(changedMs)} (${events.at(-1)})`);

  // 3. nothing to do
  await sleep(2000);
  const before = await storeRevision(b);
  t0 = performance.now();
  const { requestedAt } = await b.call('POST', `/api/v1/gitops/${NS}/big/hook`);
  for (;;) {
    const o = await b.call('GET', `${G}/namespaces/${NS}/gitrepositories/big`);
    if (o.status?.lastHandledSyncAt === requestedAt) break;
    await sleep(20);
  }
  const noopMs = performance.now() - t0;
  await sleep(500);
  console.log(`3. sync with nothing to do (fetch, ${OBJECTS} objects compared): ${fmt(noopMs)}, ${await storeRevision(b) - before} store writes (the request and its acknowledgement)`);

  // 4. many small repositories at once
  if (REPOS > 0) {
    t0 = performance.now();
    for (let r = 0; r < REPOS; r++) {
      await b.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
        apiVersion: 'drover.dev/v1alpha1', kind: 'GitRepository', metadata: { name: `small-${r}` }, spec: { url: join(root, `small-${r}.git`), interval: '10m' },
      });
    }
    for (let r = 0; r < REPOS; r++) await waitApplied(b, `small-${r}`, revs[r]);
    const manyMs = performance.now() - t0;
    console.log(`4. ${REPOS} GitRepositories × ${PER_REPO} objects created at once → all Ready: ${fmt(manyMs)} (${(REPOS / (manyMs / 1000)).toFixed(1)} repositories/s)`);
  }
} finally {
  b.stop();
  rmSync(root, { recursive: true, force: true });
}

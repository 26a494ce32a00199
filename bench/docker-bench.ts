// drover vs docker-compose vs Docker Swarm on real Docker, side by side on ONE private engine (started
// as a one-node swarm manager; see test/helpers/docker-engines.ts), one tool after the other:
//  1. time to bring N containers of one image and command (busybox `sleep 100000`, host network) to
//     running: drover (manager + one Docker node agent, one `drover apply` of N Container objects,
//     until all N report phase Running), `docker-compose up -d --scale app=N` (until it returns and the
//     engine runs N), `docker service create --detach=false --replicas N` (until it returns and the
//     service has N running tasks). Each also records when the engine first runs N (the `docker ps`
//     cross-check). Everything is removed between runs.
//  2. failover: drover with two node agents on two engines, two agent-host Containers (one per node) and
//     an AgentDeployment spread over both; `docker kill` of one host → every agent Running in the other.
//     Reference: Swarm re-starting the task of a 1-replica service after `docker kill` of its container.
// Containers use host networking and every engine runs with --bridge=none: no traffic leaves 127.0.0.1.
// Prints Markdown (and writes it to --out FILE). Bounded: every wait has --timeout, the whole run
// --max-minutes; engines and processes are torn down on success, error and SIGINT/SIGTERM.
// Usage: node bench/docker-bench.ts [--sizes 20,100] [--runs 3] [--agents 20] [--out FILE]
//                                   [--timeout 300] [--max-minutes 60] [--logs DIR] [--per-node-tasks N]
// --per-node-tasks sets the Cluster's taskPolicy.maxConcurrentPerNode (default: the Cluster default, 4).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import {
  REPO, startManager, startNodeAgent, drover, api, sleep, cleanup, type ManagerProcess, type AgentProcess,
} from '../test/helpers/processes.ts';
import { cleanupEngines, dockerAvailable, startEngine, TEST_IMAGE, type DockerEngine } from '../test/helpers/docker-engines.ts';

// --- options -----------------------------------------------------------------------------------------
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const SIZES = (args.get('sizes') ?? '20,100').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const RUNS = Number(args.get('runs') ?? 3);
const AGENTS = Number(args.get('agents') ?? 20);
const OUT = args.get('out');
const TIMEOUT_MS = Number(args.get('timeout') ?? 300) * 1000;
const PER_NODE_TASKS = args.get('per-node-tasks') ? Number(args.get('per-node-tasks')) : undefined;
const MAX_MS = Number(args.get('max-minutes') ?? 60) * 60_000;
const LOG_DIR = args.get('logs') ?? mkdtempSync(join(tmpdir(), 'drover-docker-bench-logs-'));
if (!SIZES.length || !(RUNS >= 1) || !(AGENTS >= 1)) {
  console.error('usage: node bench/docker-bench.ts [--sizes 20,100] [--runs 3] [--agents 20] [--out FILE] [--timeout 300] [--max-minutes 60] [--logs DIR]');
  process.exit(2);
}
// The command that reproduces the numbers (--out and --logs only say where files go).
const COMMAND = `node bench/docker-bench.ts ${[...args].filter(([k]) => k !== 'out' && k !== 'logs').map(([k, v]) => `--${k} ${v}`).join(' ')}`.trim();
const NS = 'bench';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
const HEARTBEAT = '1s';
const GRACE = '4s';
const AGENT_HOST_CAPACITY = 50;
const AGENT_CMD = `[/bin/sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]`;

const log = (msg: string) => console.error(`[docker-bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const fmt = (s: number) => s.toFixed(2);

// --- teardown: on success, error, signal and the overall deadline ----------------------------------------
let m: ManagerProcess | undefined;
const nodeAgents: AgentProcess[] = [];
let tearingDown: Promise<void> | undefined;
function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const a of nodeAgents) {
      writeFileSync(join(LOG_DIR, `node-agent-${a.name}.log`), a.output());
      await a.kill9().catch(() => undefined);
    }
    if (m) {
      writeFileSync(join(LOG_DIR, 'manager.log'), m.output());
      await m.kill9().catch(() => undefined);
    }
    await cleanup();
    await cleanupEngines().catch((e: unknown) => log(`engine teardown: ${(e as Error).message}`));
  })();
  return tearingDown;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: tearing down`);
    void teardown().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  log(`the whole run exceeded --max-minutes ${MAX_MS / 60_000}: tearing down`);
  void teardown().finally(() => process.exit(3));
}, MAX_MS);
watchdog.unref();

// --- small helpers -----------------------------------------------------------------------------------------
/** GET on an engine's API socket (what `docker ps` / `docker service ps` ask), parsed JSON. */
function engineGet(engine: DockerEngine, path: string): Promise<any> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: engine.socket, method: 'GET', path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? done(JSON.parse(body)) : fail(new Error(`GET ${path}: ${res.statusCode} ${body}`))));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', fail);
    req.end();
  });
}
const q = (o: unknown) => encodeURIComponent(JSON.stringify(o));
/** Containers on the engine with this label (running only, or all states). */
async function containers(engine: DockerEngine, label: string, running: boolean): Promise<any[]> {
  return engineGet(engine, `/containers/json?all=${running ? 0 : 1}&filters=${q({ label: [label], ...(running ? { status: ['running'] } : {}) })}`);
}
async function runningTasks(engine: DockerEngine, service: string): Promise<any[]> {
  const tasks: any[] = await engineGet(engine, `/tasks?filters=${q({ service: [service], 'desired-state': ['running'] })}`);
  return tasks.filter((t) => t.Status?.State === 'running');
}

/** Poll fn every `everyMs` until it returns a value; throws after TIMEOUT_MS. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, everyMs = 100): Promise<T> {
  const deadline = performance.now() + TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${TIMEOUT_MS / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

async function dockerOk(engine: DockerEngine, argv: string[], timeoutMs = TIMEOUT_MS): Promise<string> {
  const r = await engine.docker(argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`docker ${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs = TIMEOUT_MS): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { stderr += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(t); done({ code: -1, stdout, stderr: stderr + String(e) }); });
    child.on('exit', (code) => { clearTimeout(t); done({ code, stdout, stderr }); });
  });
}

async function droverOk(argv: string[], input?: string): Promise<string> {
  const r = await drover([...argv], { config: m!.configPath, input, timeoutMs: TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`drover ${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
async function listObjs(plural: string, selector?: string): Promise<any[]> {
  const r = await api(m!, 'GET', `${BASE}/${plural}${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`);
  if (r.status !== 200) throw new Error(`list ${plural}: HTTP ${r.status}`);
  return r.body.items;
}

interface Stat { median: number; min: number; max: number }
function stat(xs: number[]): Stat | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}
const cell = (xs: number[]) => {
  const s = stat(xs);
  if (!s) return 'n/a';
  return xs.length === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
};

// --- results ---------------------------------------------------------------------------------------------------
interface DroverRun { total: number; applyReturned: number; engineN: number; lastTaskCreated?: number; firstClaim?: number; lastClaim?: number; lastCompleted?: number }
const results = new Map<number, { drover: DroverRun[]; compose: { total: number; returned: number; engineN: number }[]; swarm: { total: number; returned: number; engineN: number }[] }>();
for (const n of SIZES) results.set(n, { drover: [], compose: [], swarm: [] });
const failover = { drover: [] as { total: number; moved: number; hostDown?: number }[], swarmDefault: [] as number[], swarmNoDelay: [] as number[] };
const problems: string[] = [];

// --- 1a. drover ---------------------------------------------------------------------------------------------------
const DROVER_LABEL = 'drover.dev/managed-by=drover';

function containerManifest(name: string, group: string): string {
  return `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ${name}, namespace: ${NS}, labels: {bench: ${group}}}
spec: {image: "${TEST_IMAGE}", imagePullPolicy: Never, command: [sleep, "100000"], networkMode: host, terminationGracePeriodSeconds: 1}
`;
}

async function droverRun(engine: DockerEngine, n: number, r: number): Promise<DroverRun> {
  const group = `b${n}r${r}`;
  const names = Array.from({ length: n }, (_, i) => `${group}-${i}`);
  const manifest = names.map((name) => containerManifest(name, group)).join('---\n');
  const t0 = performance.now();
  const wall0 = Date.now();
  const since = () => (performance.now() - t0) / 1000;
  let applyReturned = 0;
  const apply = droverOk(['apply', '-f', '-'], manifest).then(() => { applyReturned = since(); });
  const [total, engineN] = await Promise.all([
    until(`${n} drover containers Running in the API`, async () => {
      const items = await listObjs('containers', `bench=${group}`);
      return items.length === n && items.every((c) => c.status?.phase === 'Running') ? since() : undefined;
    }),
    until(`${n} drover containers running on the engine`, async () => ((await containers(engine, DROVER_LABEL, true)).length >= n ? since() : undefined)),
    apply,
  ]);
  // Where the time went, from the deploy Tasks: created by the manager, claimed (startedAt) and completed by the node agent.
  const want = new Set(names);
  const tasks = (await listObjs('tasks')).filter((t) => t.spec?.type === 'deploy' && t.spec?.target?.kind === 'Container' && want.has(t.spec.target.name));
  const rel = (iso: string | undefined) => (iso ? (Date.parse(iso) - wall0) / 1000 : undefined);
  const times = (f: (t: any) => string | undefined) => tasks.map((t) => rel(f(t))).filter((x): x is number => x !== undefined);
  const created = times((t) => t.metadata.creationTimestamp);
  const claimed = times((t) => t.status?.startedAt);
  const completed = times((t) => t.status?.completedAt);
  const res: DroverRun = {
    total, applyReturned, engineN,
    lastTaskCreated: created.length ? Math.max(...created) : undefined,
    firstClaim: claimed.length ? Math.min(...claimed) : undefined,
    lastClaim: claimed.length ? Math.max(...claimed) : undefined,
    lastCompleted: completed.length ? Math.max(...completed) : undefined,
  };
  if (tasks.length !== n) problems.push(`drover N=${n} run ${r}: ${tasks.length} deploy tasks for ${n} containers`);
  // Remove everything before the next run.
  await droverOk(['delete', 'container', '-l', `bench=${group}`, '-n', NS]);
  await until(`the ${n} drover containers gone from the API`, async () => (await listObjs('containers', `bench=${group}`)).length === 0, 250);
  await until(`the ${n} drover containers gone from the engine`, async () => (await containers(engine, DROVER_LABEL, false)).length === 0, 250);
  return res;
}

// --- 1b. docker-compose -----------------------------------------------------------------------------------------
let composeDir = '';
let composeVersion = 'unknown';
function composeEnv(engine: DockerEngine): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  return { ...env, DOCKER_HOST: engine.host, DOCKER_CONFIG: join(composeDir, 'cli') };
}

async function composeRun(engine: DockerEngine, n: number, r: number) {
  const project = `bench${n}r${r}`;
  const label = `com.docker.compose.project=${project}`;
  const file = join(composeDir, 'docker-compose.yml');
  const env = composeEnv(engine);
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  let returned = 0;
  const up = run('docker-compose', ['-f', file, '-p', project, 'up', '-d', '--scale', `app=${n}`], env).then((res) => {
    returned = since();
    if (res.code !== 0) throw new Error(`docker-compose up failed (${res.code}): ${res.stderr.trim().slice(-2000)}`);
  });
  const [engineN] = await Promise.all([
    until(`${n} compose containers running on the engine`, async () => ((await containers(engine, label, true)).length >= n ? since() : undefined)),
    up,
  ]);
  const total = Math.max(returned, engineN);
  const down = await run('docker-compose', ['-f', file, '-p', project, 'down', '-t', '1'], env);
  if (down.code !== 0) throw new Error(`docker-compose down failed (${down.code}): ${down.stderr.trim().slice(-2000)}`);
  await until(`compose project ${project} gone from the engine`, async () => (await containers(engine, label, false)).length === 0, 250);
  return { total, returned, engineN };
}

// --- 1c. Swarm -------------------------------------------------------------------------------------------------------
async function swarmRun(engine: DockerEngine, n: number, r: number) {
  const service = `bench${n}r${r}`;
  const label = `com.docker.swarm.service.name=${service}`;
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  let returned = 0;
  // --stop-grace-period 1s only speeds up the removal (sleep as pid 1 ignores SIGTERM), like drover's and compose's 1 s.
  const create = dockerOk(engine, ['service', 'create', '--detach=false', '--quiet', '--name', service, '--replicas', String(n),
    '--network', 'host', '--stop-grace-period', '1s', TEST_IMAGE, 'sleep', '100000']).then(() => { returned = since(); });
  const [engineN, tasksN] = await Promise.all([
    until(`${n} swarm task containers running on the engine`, async () => ((await containers(engine, label, true)).length >= n ? since() : undefined)),
    until(`${n} running tasks of ${service}`, async () => ((await runningTasks(engine, service)).length >= n ? since() : undefined)),
    create,
  ]);
  const stillN = (await runningTasks(engine, service)).length;
  if (stillN !== n) problems.push(`swarm N=${n} run ${r}: ${stillN} running tasks after service create returned`);
  const total = Math.max(returned, tasksN);
  await dockerOk(engine, ['service', 'rm', service]);
  await until(`the task containers of ${service} gone`, async () => (await containers(engine, label, false)).length === 0, 250);
  return { total, returned, engineN };
}

// --- 2a. drover failover ---------------------------------------------------------------------------------------------
const hostManifest = (name: string, node: string) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ${name}, namespace: ${NS}, labels: {bench: agent-hosts}}
spec:
  image: "${TEST_IMAGE}"
  imagePullPolicy: Never
  nodeName: ${node}
  networkMode: host
  terminationGracePeriodSeconds: 1
  agentHost: {capacity: {agents: ${AGENT_HOST_CAPACITY}}}
`;
const deploymentManifest = (name: string) => `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  agentType: ${name}
  replicas: ${AGENTS}
  template:
    command: ${AGENT_CMD}
  placement: {strategy: LeastLoaded}
`;
const HOSTS = [{ name: 'host-a', node: 'n1' }, { name: 'host-b', node: 'n2' }];

async function hostsRunning(): Promise<void> {
  await until('both agent-host containers Running', async () => {
    const cs = await listObjs('containers', 'bench=agent-hosts');
    return HOSTS.every((h) => cs.find((c) => c.metadata.name === h.name)?.status?.phase === 'Running');
  }, 250);
}

async function droverFailoverRun(engines: Record<string, DockerEngine>, r: number) {
  const dep = `fo${r}`;
  const sel = `drover.dev/deployment=${dep}`;
  await droverOk(['apply', '-f', '-'], deploymentManifest(dep));
  const before = await until(`${AGENTS} agents of ${dep} Running`, async () => {
    const items = await listObjs('agents', sel);
    return items.length === AGENTS && items.every((a) => a.status?.phase === 'Running') ? items : undefined;
  }, 100);
  await sleep(2000); // steady state: let status reports settle before the kill
  const count = (h: string) => before.filter((a) => a.spec.containerName === h).length;
  const victim = HOSTS.reduce((a, b) => (count(b.name) > count(a.name) ? b : a));
  const survivor = HOSTS.find((h) => h !== victim)!;
  const moved = count(victim.name);
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  await dockerOk(engines[victim.node], ['kill', `drover.${victim.node}.${NS}.${victim.name}`]);
  let hostDown: number | undefined;
  const total = await until(`every agent of ${dep} Running in ${survivor.name}`, async () => {
    if (hostDown === undefined) {
      const h = (await listObjs('containers', 'bench=agent-hosts')).find((c) => c.metadata.name === victim.name);
      if (h?.status?.phase !== 'Running') hostDown = since();
    }
    const items = await listObjs('agents', sel);
    return items.length === AGENTS && items.every((a) => a.status?.phase === 'Running' && a.spec.containerName === survivor.name) ? since() : undefined;
  }, 100);
  log(`  drover failover run ${r}: ${moved} agents of ${victim.name} (${victim.node}) Running in ${survivor.name} after ${fmt(total)} s (host seen down after ${hostDown === undefined ? '?' : fmt(hostDown)} s)`);
  // Back to a steady state: the deployment gone, the killed host re-created and Running.
  await droverOk(['delete', 'agentdeployment', dep, '-n', NS]);
  await until(`the agents of ${dep} gone`, async () => (await listObjs('agents', sel)).length === 0, 250);
  await droverOk(['delete', 'container', victim.name, '-n', NS]);
  await until(`${victim.name} gone from the API`, async () => !(await listObjs('containers', 'bench=agent-hosts')).some((c) => c.metadata.name === victim.name), 250);
  await until(`${victim.name} gone from its engine`, async () => (await containers(engines[victim.node], `drover.dev/name=${victim.name}`, false)).length === 0, 250);
  await droverOk(['apply', '-f', '-'], hostManifest(victim.name, victim.node));
  await hostsRunning();
  return { total, moved, hostDown };
}

// --- 2b. Swarm failover --------------------------------------------------------------------------------------------------
async function swarmFailover(engine: DockerEngine, service: string, extra: string[], runs: number): Promise<number[]> {
  const out: number[] = [];
  await dockerOk(engine, ['service', 'create', '--detach=false', '--quiet', '--name', service, '--replicas', '1', '--network', 'host',
    '--restart-condition', 'any', '--stop-grace-period', '1s', ...extra, TEST_IMAGE, 'sleep', '100000']);
  try {
    for (let r = 1; r <= runs; r++) {
      const [task] = await until(`one running task of ${service}`, async () => {
        const ts = await runningTasks(engine, service);
        return ts.length === 1 ? ts : undefined;
      });
      await sleep(2000); // steady state
      const cid = task.Status?.ContainerStatus?.ContainerID as string;
      const t0 = performance.now();
      await dockerOk(engine, ['kill', cid]);
      const secs = await until(`a new running task of ${service}`, async () => {
        const ts = await runningTasks(engine, service);
        return ts.some((t) => t.ID !== task.ID) ? (performance.now() - t0) / 1000 : undefined;
      }, 100);
      log(`  swarm failover ${service} run ${r}: new task Running after ${fmt(secs)} s`);
      out.push(secs);
    }
  } finally {
    await dockerOk(engine, ['service', 'rm', service]).catch(() => undefined);
    await until(`the task containers of ${service} gone`, async () => (await containers(engine, `com.docker.swarm.service.name=${service}`, false)).length === 0, 250)
      .catch((e: unknown) => problems.push(String(e)));
  }
  return out;
}

// --- main ------------------------------------------------------------------------------------------------------------------
const started = performance.now();
let engineVersion = 'unknown';
let exitCode = 0;
try {
  const why = dockerAvailable();
  if (why) throw new Error(why);
  mkdirSync(LOG_DIR, { recursive: true });
  composeDir = mkdtempSync(join(tmpdir(), 'drover-docker-bench-compose-'));
  mkdirSync(join(composeDir, 'cli'));
  const cv = await run('docker-compose', ['version', '--short'], process.env, 30_000);
  if (cv.code !== 0) throw new Error(`docker-compose is not usable: ${cv.stderr.trim()} (make docker-deps)`);
  composeVersion = cv.stdout.trim();
  // pull_policy is part of the Compose Specification, which docker-compose reads since 1.27 (1.28 knows pull_policy).
  writeFileSync(join(composeDir, 'docker-compose.yml'), `services:
  app:
    image: "${TEST_IMAGE}"
    command: [sleep, "100000"]
    network_mode: host
    pull_policy: never
    stop_grace_period: 1s
`);

  log('starting a private Docker engine (swarm manager on 127.0.0.1)');
  const e0 = await startEngine({ name: 'bench0', swarm: true });
  engineVersion = (await dockerOk(e0, ['version', '--format', '{{.Server.Version}}'])).trim();

  // ---------------- drover ----------------
  log('starting a drover manager and one Docker node agent on that engine');
  m = await startManager();
  await droverOk(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: ${HEARTBEAT}, gracePeriod: ${GRACE}}
  rebalancePolicy: {enabled: false}
${PER_NODE_TASKS ? `  taskPolicy: {maxConcurrentPerNode: ${PER_NODE_TASKS}}\n` : ''}`);
  const joinToken = (await droverOk(['token', 'create', '--join', '--cluster', NS])).trim();
  const dockerArgs = (e: DockerEngine) => ['--runtime', 'docker', '--docker-host', e.host, '--docker-network', 'host', '--capacity-containers', String(Math.max(200, ...SIZES.map((n) => n + 10)))];
  nodeAgents.push(await startNodeAgent(m, { name: 'n1', namespace: NS, joinToken, extraArgs: dockerArgs(e0), env: { DROVER_LOG_LEVEL: 'info' } }));

  for (const n of SIZES) {
    for (let r = 1; r <= RUNS; r++) {
      const d = await droverRun(e0, n, r);
      results.get(n)!.drover.push(d);
      log(`N=${n} run ${r} drover: all Running (API) ${fmt(d.total)} s; engine ran ${n} at ${fmt(d.engineN)} s; apply returned ${fmt(d.applyReturned)} s; `
        + `deploy tasks: last created ${d.lastTaskCreated?.toFixed(2)} s, claimed ${d.firstClaim?.toFixed(2)}–${d.lastClaim?.toFixed(2)} s, last completed ${d.lastCompleted?.toFixed(2)} s`);
    }
  }

  // ---------------- drover failover (second node on a second, plain engine) ----------------
  log('failover: starting a second engine and node agent');
  const e1 = await startEngine({ name: 'bench1' });
  const byNode: Record<string, DockerEngine> = { n1: e0, n2: e1 };
  nodeAgents.push(await startNodeAgent(m, { name: 'n2', namespace: NS, joinToken, extraArgs: dockerArgs(e1), env: { DROVER_LOG_LEVEL: 'info' } }));
  await droverOk(['apply', '-f', '-'], HOSTS.map((h) => hostManifest(h.name, h.node)).join('---\n'));
  await hostsRunning();
  for (let r = 1; r <= RUNS; r++) failover.drover.push(await droverFailoverRun(byNode, r));
  // Done with drover: stop it, so it does not share the engine or the CPUs with the others.
  await droverOk(['delete', 'container', '-l', 'bench=agent-hosts', '-n', NS]);
  await until('the agent hosts gone from the engines', async () => (await containers(e0, DROVER_LABEL, false)).length + (await containers(e1, DROVER_LABEL, false)).length === 0, 250);
  for (const a of nodeAgents) writeFileSync(join(LOG_DIR, `node-agent-${a.name}.log`), a.output());
  writeFileSync(join(LOG_DIR, 'manager.log'), m.output());
  for (const a of nodeAgents.splice(0)) await a.kill9();
  await m.kill9();
  m = undefined;
  await e1.stop();

  // ---------------- docker-compose ----------------
  for (const n of SIZES) {
    for (let r = 1; r <= RUNS; r++) {
      const c = await composeRun(e0, n, r);
      results.get(n)!.compose.push(c);
      log(`N=${n} run ${r} docker-compose: ${fmt(c.total)} s (up returned ${fmt(c.returned)} s, engine ran ${n} at ${fmt(c.engineN)} s)`);
    }
  }

  // ---------------- Swarm ----------------
  for (const n of SIZES) {
    for (let r = 1; r <= RUNS; r++) {
      const s = await swarmRun(e0, n, r);
      results.get(n)!.swarm.push(s);
      log(`N=${n} run ${r} swarm: ${fmt(s.total)} s (service create returned ${fmt(s.returned)} s, engine ran ${n} at ${fmt(s.engineN)} s)`);
    }
  }
  failover.swarmDefault = await swarmFailover(e0, 'fodefault', [], RUNS);
  failover.swarmNoDelay = await swarmFailover(e0, 'fonodelay', ['--restart-delay', '0s'], RUNS);
} catch (e) {
  exitCode = 1;
  problems.push(`aborted: ${(e as Error).stack ?? String(e)}`);
  log(`aborted: ${(e as Error).message}`);
} finally {
  await teardown();
  if (composeDir) rmSync(composeDir, { recursive: true, force: true });
}
const totalSecs = (performance.now() - started) / 1000;

// --- report ------------------------------------------------------------------------------------------------------------------
const lines: string[] = [];
const p = (s = '') => lines.push(s);
p(`### Time to bring N containers to running on one Docker engine (seconds, median (min–max) of ${RUNS} run${RUNS > 1 ? 's' : ''})`);
p();
p('| N | drover (s) | docker-compose (s) | Swarm (s) |');
p('|---|---|---|---|');
for (const n of SIZES) {
  const x = results.get(n)!;
  p(`| ${n} | ${cell(x.drover.map((d) => d.total))} | ${cell(x.compose.map((d) => d.total))} | ${cell(x.swarm.map((d) => d.total))} |`);
}
p();
p('drover: `drover apply` of N Container objects → all N report phase Running (one node agent). docker-compose: `up -d --scale app=N` returned and the engine runs N. '
  + 'Swarm: `service create --detach=false --replicas N` returned (it waits for the tasks to be stable, 5 s by default) and N tasks running.');
p();
p('Cross-check, when the engine (`docker ps`) first ran N containers:');
p();
p('| N | drover (s) | docker-compose (s) | Swarm (s) |');
p('|---|---|---|---|');
for (const n of SIZES) {
  const x = results.get(n)!;
  p(`| ${n} | ${cell(x.drover.map((d) => d.engineN))} | ${cell(x.compose.map((d) => d.engineN))} | ${cell(x.swarm.map((d) => d.engineN))} |`);
}
p();
p('drover breakdown from its deploy Tasks (seconds after the apply started, median of the runs):');
p();
p('| N | apply returned | last deploy Task created | first / last Task claimed by the node agent | last Task completed | all Running in the API |');
p('|---|---|---|---|---|---|');
const med = (xs: (number | undefined)[]) => { const s = stat(xs.filter((x): x is number => x !== undefined)); return s ? fmt(s.median) : 'n/a'; };
for (const n of SIZES) {
  const d = results.get(n)!.drover;
  p(`| ${n} | ${med(d.map((x) => x.applyReturned))} | ${med(d.map((x) => x.lastTaskCreated))} | ${med(d.map((x) => x.firstClaim))} / ${med(d.map((x) => x.lastClaim))} | ${med(d.map((x) => x.lastCompleted))} | ${med(d.map((x) => x.total))} |`);
}
p();
p(`### Failover (seconds, median (min–max) of ${RUNS} run${RUNS > 1 ? 's' : ''})`);
p();
p('| Scenario | moved | time (s) |');
p('|---|---|---|');
const movedCell = (xs: number[]) => { const s = stat(xs); return s ? (s.min === s.max ? String(s.min) : `${s.min}–${s.max}`) : 'n/a'; };
p(`| drover: \`docker kill\` of an agent-host container → all ${AGENTS} agents of the AgentDeployment Running in the other host (other node, other engine; heartbeat ${HEARTBEAT}, grace ${GRACE}) | ${movedCell(failover.drover.map((f) => f.moved))} agents | ${cell(failover.drover.map((f) => f.total))} |`);
p(`| drover: … of which until the killed host is no longer Running in the API | | ${cell(failover.drover.map((f) => f.hostDown).filter((x): x is number => x !== undefined))} |`);
p(`| Swarm: \`docker kill\` of the task container of a 1-replica service (restart-condition any, default restart delay 5 s) → new task Running | 1 task | ${cell(failover.swarmDefault)} |`);
p(`| Swarm: same with \`--restart-delay 0s\` | 1 task | ${cell(failover.swarmNoDelay)} |`);
p();
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU';
p(`Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Docker Engine ${engineVersion}, docker-compose ${composeVersion}, Node ${process.version}. `
  + `Total bench time ${(totalSecs / 60).toFixed(1)} min. Reproduce: \`${COMMAND}\` (or \`make bench-docker\`).`);
if (problems.length) {
  p();
  p('Problems:');
  for (const x of problems) p(`- ${x.split('\n').join('\n  ')}`);
}
const md = lines.join('\n') + '\n';
process.stdout.write(md);
if (OUT) writeFileSync(OUT, md);
log(`node agent and manager logs: ${relative(REPO, LOG_DIR).startsWith('..') ? LOG_DIR : relative(REPO, LOG_DIR)}`);
clearTimeout(watchdog);
process.exit(exitCode);

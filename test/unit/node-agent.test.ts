// The node agent against the real API server (in-process, node credential under NodeRestriction)
// with an in-memory runtime. Loops are off: the test drives heartbeat, sync and fencing steps.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeAgent, type NodeAgent } from '../../agent/node-agent.ts';
import { parseAgentConfig, type AgentConfig } from '../../agent/config.ts';
import { writeCredential } from '../../agent/credential.ts';
import { staticAuthenticator } from '../../api/auth.ts';
import { FakeClock } from '../../core/clock.ts';
import { nullLogger } from '../../core/logging.ts';
import { FakeRuntime } from '../helpers/fake-runtime.ts';
import { BASE, TOKENS, startApi, type Harness } from './api-harness.ts';

const NODE_TOKEN = 'node-n1-token';
const NS = 'c1';

let h: Harness;
let dataDir: string;
let runtime: FakeRuntime;
let clock: FakeClock;
let mono: number;
const agents: NodeAgent[] = [];

beforeEach(async () => {
  h = await startApi({
    authenticator: staticAuthenticator({
      [TOKENS.admin]: { name: 'alice', role: 'admin' },
      [NODE_TOKEN]: { name: 'n1', role: 'node', cluster: NS, node: 'n1' },
    }),
  });
  expect((await h.call('POST', `${BASE}/clusters`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: NS }, spec: { failurePolicy: { heartbeatInterval: '1s', gracePeriod: '5s' } } })).status).toBe(201);
  dataDir = mkdtempSync(join(tmpdir(), 'drover-agent-unit-'));
  runtime = new FakeRuntime();
  clock = new FakeClock(Date.UTC(2026, 10, 23, 15, 0, 0));
  mono = 0;
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop({ stopWorkloads: false });
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function config(over: Partial<AgentConfig> = {}): AgentConfig {
  return { ...parseAgentConfig({ server: h.url, name: 'n1', labels: 'zone=eu-1', dataDir }), ...over };
}

async function agent(opts: { fetch?: typeof fetch; cfg?: Partial<AgentConfig>; credential?: boolean } = {}): Promise<NodeAgent> {
  if (opts.credential ?? true) writeCredential(dataDir, { server: h.url, namespace: NS, nodeName: 'n1', token: NODE_TOKEN });
  const a = await startNodeAgent(config(opts.cfg), { runtime, logger: nullLogger(), clock, monotonic: () => mono, loops: false, fetch: opts.fetch });
  agents.push(a);
  return a;
}

async function admin(method: string, path: string, body?: unknown) {
  const r = await h.call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}

async function boundContainer(name: string, spec: Record<string, unknown> = {}, node = 'n1') {
  const c = await admin('POST', `${BASE}/namespaces/${NS}/containers`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name }, spec: { command: ['sleep', '100'], ...spec } });
  return admin('PATCH', `${BASE}/namespaces/${NS}/containers/${name}/status`, { status: { nodeName: node, phase: 'Scheduled' } });
}

async function task(name: string, type: string, target: { metadata: { name: string; uid: string; generation: number } }, state = 'Assigned', node = 'n1') {
  await admin('POST', `${BASE}/namespaces/${NS}/tasks`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name },
    spec: { type, nodeName: node, target: { kind: 'Container', name: target.metadata.name, uid: target.metadata.uid, generation: target.metadata.generation } },
  });
  return admin('PATCH', `${BASE}/namespaces/${NS}/tasks/${name}/status`, { status: { state, assignedAt: '2026-11-23T15:00:00Z' } });
}

const get = (plural: string, name: string) => admin('GET', `${BASE}/namespaces/${NS}/${plural}/${name}`);
const events = async () => (await admin('GET', `${BASE}/namespaces/${NS}/events`)).items as Array<{ reason: string; type: string; message: string; involvedObject: { name: string } }>;

async function settle(a: NodeAgent): Promise<void> {
  await a.syncOnce();
  await a.idle();
}

describe('joining and registering', () => {
  it('joins with the join token, saves the credential 0600 and registers its Node Ready with capacity', async () => {
    let joins = 0;
    const fetchJoin: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/api/v1/join')) {
        joins++;
        expect(JSON.parse(String(init?.body))).toEqual({ token: 'drvj_secret', nodeName: 'n1', labels: { zone: 'eu-1' } });
        return new Response(JSON.stringify({ nodeName: 'n1', namespace: NS, credential: NODE_TOKEN, cluster: { heartbeatInterval: '1s', gracePeriod: '5s' } }), { status: 201, headers: { 'content-type': 'application/json' } });
      }
      return fetch(input, init);
    };
    const a = await agent({ fetch: fetchJoin, credential: false, cfg: { joinToken: 'drvj_secret' } });
    expect(joins).toBe(1);
    const credFile = join(dataDir, 'credential.json');
    expect(statSync(credFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(credFile, 'utf8'))).toEqual({ server: h.url, namespace: NS, nodeName: 'n1', token: NODE_TOKEN });

    expect(await a.heartbeatOnce()).toBe(true);
    const node = await get('nodes', 'n1');
    expect(node.metadata.labels).toEqual({ zone: 'eu-1' });
    expect(node.spec.labels).toEqual({ zone: 'eu-1' });
    expect(node.status.capacity).toEqual({ cpu: '4', memory: '8Gi', containers: 50, agents: 200 });
    expect(node.status.allocatable).toEqual(node.status.capacity);
    expect(node.status.runtime).toEqual({ type: 'process', version: 'fake-1' });
    expect(node.status.nodeInfo.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(node.status.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'AgentReady' })]);

    // A restarted agent with the same data dir keeps its identity: no second join.
    await a.stop({ stopWorkloads: false });
    const again = await agent({ fetch: fetchJoin, credential: false, cfg: { joinToken: 'drvj_secret' } });
    expect(joins).toBe(1);
    expect(again.nodeName).toBe('n1');
  });

  it('refuses to start without a credential or a join token, saying what to do', async () => {
    await expect(agent({ credential: false })).rejects.toThrow(/no --join-token: create one with 'drover token create --join/);
  });

  it('heartbeats with millisecond lastHeartbeatTime and usage, and re-registers a deleted Node', async () => {
    const a = await agent();
    await a.heartbeatOnce();
    clock.advance(1234);
    const before = Date.now();
    expect(await a.heartbeatOnce()).toBe(true);
    let node = await get('nodes', 'n1');
    // the node sent its own (fake, 2026-11-23T15:00:01.234Z) time; the manager keeps its own clock's time instead
    expect(node.status.lastHeartbeatTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(node.status.lastHeartbeatTime)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(node.status.lastHeartbeatTime)).toBeLessThanOrEqual(Date.now());
    expect(node.status.usage).toEqual({ cpu: '250m', memory: '1Gi', containers: 0, agents: 0 });
    await admin('DELETE', `${BASE}/namespaces/${NS}/nodes/n1`);
    expect(await a.heartbeatOnce()).toBe(false);
    expect(await a.heartbeatOnce()).toBe(true);
    node = await get('nodes', 'n1');
    expect(node.status.capacity.containers).toBe(50);
    expect(a.health()).toMatchObject({ node: 'n1', namespace: NS, managerReachable: true, fenced: false });
  });
});

describe('tasks', () => {
  it('claims an Assigned deploy task, runs it once and reports Completed and a Running container', async () => {
    const a = await agent();
    await a.heartbeatOnce();
    const c = await boundContainer('web', { restartPolicy: 'Always' });
    await task('web-deploy-aaaaa', 'deploy', c);
    await settle(a);
    await settle(a); // a second pass must not run it again
    expect(runtime.ops()).toEqual(['deploy web']);
    const t = await get('tasks', 'web-deploy-aaaaa');
    expect(t.status).toMatchObject({ state: 'Completed', attempts: 1, leaseHolder: 'n1', result: { containerID: 'process://1001', state: 'running' } });
    expect(t.status.startedAt).toBeDefined();
    expect(t.status.completedAt).toBeDefined();
    const cs = (await get('containers', 'web')).status;
    expect(cs).toMatchObject({ nodeName: 'n1', phase: 'Running', containerID: 'process://1001', observedGeneration: 1, health: 'None', restarts: 0 });
    expect(cs.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`)).toEqual(['Started=True', 'Healthy=True']);
    expect((await events()).map((e) => e.reason)).toContain('Started');
    expect(await a.metrics.registry.metrics()).toMatch(/drover_agent_tasks_total\{type="deploy",result="Completed"\} 1/);
  });

  it.each([
    ['Cancelled', []],
    ['Queued', []],
    ['Pending', []],
  ])('does not start a %s task', async (state, ops) => {
    const a = await agent();
    const c = await boundContainer('web');
    await task('web-deploy-bbbbb', 'deploy', c, state);
    await settle(a);
    expect(runtime.ops()).toEqual(ops);
    expect((await get('tasks', 'web-deploy-bbbbb')).status.state).toBe(state);
  });

  it('records a runtime failure as Failed with reason and message', async () => {
    const a = await agent();
    const c = await boundContainer('web');
    await task('web-deploy-ccccc', 'deploy', c);
    runtime.failNextDeploy = 'spawn sleep ENOENT';
    await settle(a);
    expect((await get('tasks', 'web-deploy-ccccc')).status).toMatchObject({ state: 'Failed', reason: 'RuntimeError', message: 'spawn sleep ENOENT', attempts: 1 });
  });

  it('runs stop, start, restart and delete through the runtime', async () => {
    const a = await agent();
    const c = await boundContainer('web', { terminationGracePeriodSeconds: 3 });
    await task('t-deploy', 'deploy', c);
    await settle(a);
    await task('t-stop', 'stop', c);
    await settle(a);
    expect((await get('containers', 'web')).status.phase).toBe('Stopped');
    await task('t-start', 'start', c);
    await settle(a);
    await task('t-restart', 'restart', c);
    await settle(a);
    expect((await get('containers', 'web')).status).toMatchObject({ phase: 'Running', restarts: 1 });
    await task('t-delete', 'delete', c);
    await settle(a);
    expect(runtime.ops()).toEqual(['deploy web', 'stop web', 'start web', 'restart web', 'remove web']);
    expect(runtime.calls.find((x) => x.op === 'stop')?.opts).toBe(3);
    for (const n of ['t-deploy', 't-stop', 't-start', 't-restart', 't-delete']) expect((await get('tasks', n)).status.state).toBe('Completed');
    expect((await events()).map((e) => e.reason)).toContain('Killed');
  });

  it('loses the claim when another claimer changed the task first (409 on the stale resourceVersion): it does not run it', async () => {
    let raced = false;
    const racing: typeof fetch = async (input, init) => {
      if (!raced && init?.method === 'PUT' && String(input).endsWith('/tasks/web-deploy-ddddd/status')) {
        raced = true; // another claimer gets in between the agent's list and its claim
        const sent = JSON.parse(String(init.body));
        const other = await h.call('PUT', `${BASE}/namespaces/${NS}/tasks/web-deploy-ddddd/status`, { ...sent, status: { ...sent.status, leaseHolder: 'other' } });
        expect(other.status).toBe(200);
      }
      return fetch(input, init);
    };
    const a = await agent({ fetch: racing });
    const c = await boundContainer('web');
    await task('web-deploy-ddddd', 'deploy', c);
    await settle(a);
    expect(raced).toBe(true);
    expect(runtime.ops()).toEqual([]);
    expect((await get('tasks', 'web-deploy-ddddd')).status).toMatchObject({ state: 'Running', leaseHolder: 'other', attempts: 1 });
  });

  it('takes a cancel that arrived while the task ran into account when it finishes', async () => {
    const a = await agent();
    const c = await boundContainer('web');
    await task('web-deploy-eeeee', 'deploy', c);
    const deploy = runtime.deploy.bind(runtime);
    runtime.deploy = async (req) => {
      await admin('PATCH', `${BASE}/namespaces/${NS}/tasks/web-deploy-eeeee`, { metadata: { annotations: { 'drover.dev/cancel-requested': 'true' } } });
      return deploy(req);
    };
    await settle(a);
    expect((await get('tasks', 'web-deploy-eeeee')).status).toMatchObject({ state: 'Cancelled', reason: 'Cancelled' });
  });
});

describe('desired state after restarts and re-placement', () => {
  it('restores a container whose deploy completed earlier once, after the agent restarted', async () => {
    const c = await boundContainer('web');
    await task('web-deploy-fffff', 'deploy', c, 'Completed');
    const a = await agent();
    await settle(a);
    await settle(a);
    expect(runtime.ops()).toEqual(['deploy web']);
    expect((await get('containers', 'web')).status.phase).toBe('Running');
  });

  it('removes local containers that are no longer bound to it', async () => {
    const c = await boundContainer('moved', {}, 'n2');
    runtime.leftRunning = [{ namespace: NS, name: 'moved', uid: c.metadata.uid, generation: 1, containerID: 'process://7', state: 'running', health: 'None', restarts: 0 }];
    const a = await agent();
    await settle(a);
    expect(runtime.ops()).toEqual(['remove moved']);
    expect(runtime.list()).toEqual([]);
  });

  it('reports a crash with restartPolicy Never as Failed with a Stopped event', async () => {
    const a = await agent();
    await a.heartbeatOnce();
    const c = await boundContainer('job', { restartPolicy: 'Never' });
    await task('job-deploy-ggggg', 'deploy', c);
    await settle(a);
    runtime.crash(NS, 'job', 2);
    await a.idle();
    const cs = (await get('containers', 'job')).status;
    expect(cs).toMatchObject({ phase: 'Failed', reason: 'Error', lastExit: { exitCode: 2, reason: 'Error' } });
    expect(cs.conditions.find((x: { type: string }) => x.type === 'Started').status).toBe('False');
    const stopped = (await events()).find((e) => e.reason === 'Stopped');
    expect(stopped).toMatchObject({ type: 'Warning', involvedObject: { name: 'job' } });
    expect(stopped?.message).toMatch(/exit code 2/);
  });
});

describe('fencing', () => {
  it('stops unpinned containers after the grace period without a heartbeat, keeps pinned ones, and restores them on reconnect', async () => {
    const a = await agent();
    await a.heartbeatOnce(); // reads gracePeriod 5s from the Cluster
    const free = await boundContainer('free');
    const pinned = await boundContainer('pinned', { nodeName: 'n1' });
    await task('free-deploy-hhhhh', 'deploy', free);
    await task('pinned-deploy-iiiii', 'deploy', pinned);
    await settle(a);
    expect(runtime.list().map((i) => i.name).sort()).toEqual(['free', 'pinned']);

    mono = 4_999;
    expect(await a.checkFencing()).toEqual([]);
    mono = 5_000;
    expect(await a.checkFencing()).toEqual([`${NS}/free`]);
    expect(runtime.list().map((i) => i.name)).toEqual(['pinned']);
    expect(a.health().fenced).toBe(true);
    expect(await a.checkFencing()).toEqual([]); // nothing new to stop
    // something that starts while still fenced (a task that was already running, a restart) is swept too
    await runtime.deploy({ namespace: NS, name: 'free', uid: free.metadata.uid!, generation: 1, spec: free.spec! });
    expect(await a.checkFencing()).toEqual([`${NS}/free`]);
    expect(runtime.list().map((i) => i.name)).toEqual(['pinned']);

    mono = 9_000;
    expect(await a.heartbeatOnce()).toBe(true);
    await settle(a);
    expect(runtime.list().map((i) => i.name).sort()).toEqual(['free', 'pinned']);
    expect(runtime.ops().filter((o) => o.endsWith('free'))).toEqual(['deploy free', 'stop free', 'remove free', 'deploy free', 'stop free', 'remove free', 'deploy free']);
    const fenced = (await events()).filter((e) => e.reason === 'Fenced');
    expect(fenced).toHaveLength(1);
    expect(fenced[0]).toMatchObject({ type: 'Warning', involvedObject: { name: 'free' } });
  });

  it('does not restore a fenced container that the manager re-placed meanwhile; it removes the local copy', async () => {
    const a = await agent();
    await a.heartbeatOnce();
    const free = await boundContainer('free');
    await task('free-deploy-jjjjj', 'deploy', free);
    await settle(a);
    mono = 6_000;
    await a.checkFencing();
    await admin('PATCH', `${BASE}/namespaces/${NS}/containers/free/status`, { status: { nodeName: 'n2' } });
    mono = 20_000;
    await a.heartbeatOnce();
    await settle(a);
    expect(runtime.ops()).toEqual(['deploy free', 'stop free', 'remove free']);
  });
});

describe('shutdown', () => {
  it('stops workloads, reports them Stopped and marks the Node Ready=False AgentStopped', async () => {
    const a = await agent();
    await a.heartbeatOnce();
    const c = await boundContainer('web');
    await task('web-deploy-kkkkk', 'deploy', c);
    await settle(a);
    agents.pop();
    await a.stop();
    expect(runtime.closed).toEqual({ stopWorkloads: true });
    expect((await get('containers', 'web')).status).toMatchObject({ phase: 'Stopped', nodeName: 'n1' });
    const ready = (await get('nodes', 'n1')).status.conditions.find((x: { type: string }) => x.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'AgentStopped' });
  });
});

describe('log shipping', () => {
  it('posts new output as text/plain to the container log endpoint, keeping it when the manager is away', async () => {
    const posts: Array<{ url: string; type: string | null; body: string }> = [];
    let down = true;
    const f: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/log')) {
        if (down) throw new TypeError('fetch failed');
        posts.push({ url: String(input), type: new Headers(init?.headers).get('content-type'), body: String(init?.body) });
        return new Response('', { status: 201 });
      }
      return fetch(input, init);
    };
    const a = await agent({ fetch: f });
    const c = await boundContainer('web');
    await task('web-deploy-lllll', 'deploy', c);
    await settle(a);
    runtime.pendingLogs.set(`${NS}/web`, 'hello\n');
    await a.shipLogsOnce();
    expect(posts).toEqual([]);
    down = false;
    runtime.pendingLogs.set(`${NS}/web`, 'world\n');
    await a.shipLogsOnce();
    expect(posts).toEqual([{ url: `${h.url}${BASE}/namespaces/${NS}/containers/web/log`, type: 'text/plain; charset=utf-8', body: 'hello\nworld\n' }]);
  });
});

describe('local server', () => {
  it('serves /health, /agents and /metrics on its listen address', async () => {
    const { startLocalServer } = await import('../../agent/local-server.ts');
    const { createAgentMetrics } = await import('../../agent/metrics.ts');
    const metrics = createAgentMetrics({ processMetrics: false });
    metrics.heartbeats.inc();
    const srv = await startLocalServer('127.0.0.1', 0, {
      health: () => ({ node: 'n1', namespace: NS, managerReachable: true, lastHeartbeat: '2026-11-23T15:00:00.000Z', containers: 2, fenced: false }),
      agents: () => [{ namespace: NS, name: 'trader-1', uid: 'u', containerName: 'host', id: 'process://9', state: 'running', restarts: 0 }],
      metrics: metrics.registry,
    });
    try {
      expect(await (await fetch(`${srv.url}/health`)).json()).toEqual({ node: 'n1', namespace: NS, managerReachable: true, lastHeartbeat: '2026-11-23T15:00:00.000Z', containers: 2, fenced: false });
      expect(((await (await fetch(`${srv.url}/agents`)).json()) as unknown[])[0]).toMatchObject({ name: 'trader-1', state: 'running' });
      expect(await (await fetch(`${srv.url}/metrics`)).text()).toMatch(/drover_agent_heartbeats_total 1/);
      const missing = await fetch(`${srv.url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toMatch(/try \/health/);
    } finally {
      await srv.close();
    }
  });
});

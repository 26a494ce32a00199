// Running Agents on a node: the pure plan (start / stop / report ContainerNotRunning), the request and
// status mapping, and the node agent against the real API server (node credential) with a fake runtime.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentRequest, planAgentSync, type AgentSyncInput } from '../../agent/agent-plan.ts';
import { agentPhase, agentStatusPatch, statusChanged } from '../../agent/agent-status.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { writeCredential } from '../../agent/credential.ts';
import { startNodeAgent, type NodeAgent } from '../../agent/node-agent.ts';
import type { AgentInfo, ContainerInfo, ContainerState } from '../../agent/runtime.ts';
import { staticAuthenticator } from '../../api/auth.ts';
import { FakeClock } from '../../core/clock.ts';
import { nullLogger } from '../../core/logging.ts';
import type { KubeObject } from '../../core/types.ts';
import { FakeRuntime } from '../helpers/fake-runtime.ts';
import { BASE, TOKENS, startApi, type Harness } from './api-harness.ts';

const NS = 'c1';

// ---- pure plan ----

function ag(name: string, o: { uid?: string; container?: string; statusContainer?: string; deleting?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Agent',
    metadata: { name, namespace: NS, uid: o.uid ?? `uid-${name}`, generation: 1, ...(o.deleting ? { deletionTimestamp: '2026-11-23T15:00:00Z' } : {}) },
    spec: { agentType: 'trading', command: ['node', 'a.js'], ...(o.container === '' ? {} : { containerName: o.container ?? 'h1' }) },
    status: { nodeName: 'n1', containerName: o.statusContainer ?? o.container ?? 'h1', phase: 'Scheduled' },
  };
}
const ci = (name: string, state: ContainerState): ContainerInfo => ({
  namespace: NS, name, uid: `uid-${name}`, generation: 1, containerID: 'process://1', state, health: 'None', restarts: 0,
});
const ai = (name: string, o: { uid?: string; container?: string; state?: ContainerState } = {}): AgentInfo => ({
  namespace: NS, name, uid: o.uid ?? `uid-${name}`, containerName: o.container ?? 'h1', id: 'process://2', pid: 2, state: o.state ?? 'running', restarts: 0,
});

function plan(over: Partial<AgentSyncInput>) {
  const p = planAgentSync({ agents: [], containers: [ci('h1', 'running')], local: [], containersPending: new Set(), busy: new Set(), fenced: false, ...over });
  return {
    start: p.start.map((s) => `${s.agent.metadata.name}${s.replace ? ' (replace)' : ''}`),
    stop: p.stop.map((s) => `${s.info.name}: ${s.cause}`),
    failed: p.containerNotRunning.map((f) => `${f.agent.metadata.name}: ${f.container} ${f.containerState}`),
  };
}

describe('planAgentSync', () => {
  it.each<[string, Partial<AgentSyncInput>, { start: string[]; stop: string[]; failed: string[] }]>([
    ['starts a bound agent whose container runs here', { agents: [ag('a1')] }, { start: ['a1'], stop: [], failed: [] }],
    ['leaves a running agent alone', { agents: [ag('a1')], local: [ai('a1')] }, { start: [], stop: [], failed: [] }],
    ['keeps an agent that exited for good (the restart policy decided)', { agents: [ag('a1')], local: [ai('a1', { state: 'exited' })] }, { start: [], stop: [], failed: [] }],
    ['stops an agent whose Agent is gone', { local: [ai('a1')] }, { start: [], stop: ['a1: unbound'], failed: [] }],
    ['stops a terminating agent', { agents: [ag('a1', { deleting: true })], local: [ai('a1')] }, { start: [], stop: ['a1: terminating'], failed: [] }],
    ['replaces an instance of a recreated Agent', { agents: [ag('a1', { uid: 'new' })], local: [ai('a1', { uid: 'old' })] }, { start: ['a1 (replace)'], stop: ['a1: recreated'], failed: [] }],
    ['stops an agent the manager unbound (Migrating)', { agents: [ag('a1', { container: '', statusContainer: 'h1' })], local: [ai('a1')] }, { start: [], stop: ['a1: moved'], failed: [] }],
    ['stops and waits while the binding moves (spec and status disagree)', { agents: [ag('a1', { container: 'h2', statusContainer: 'h1' })], containers: [ci('h1', 'running'), ci('h2', 'running')], local: [ai('a1')] }, { start: [], stop: ['a1: moved'], failed: [] }],
    ['moves an agent rebound to another local container', { agents: [ag('a1', { container: 'h2' })], containers: [ci('h1', 'running'), ci('h2', 'running')], local: [ai('a1')] }, { start: ['a1 (replace)'], stop: ['a1: moved'], failed: [] }],
    ['stops agents of a stopped container and reports them', { agents: [ag('a1')], containers: [ci('h1', 'exited')], local: [ai('a1')] }, { start: [], stop: ['a1: container-not-running'], failed: ['a1: h1 exited'] }],
    ['reports agents of a failed container that never started them', { agents: [ag('a1')], containers: [ci('h1', 'failed')] }, { start: [], stop: [], failed: ['a1: h1 failed'] }],
    ['reports agents whose container is gone from the node', { agents: [ag('a1')], containers: [], local: [ai('a1')] }, { start: [], stop: ['a1: container-not-running'], failed: ['a1: h1 absent'] }],
    ['waits for a container that is being deployed here', { agents: [ag('a1')], containers: [], containersPending: new Set([`${NS}/h1`]) }, { start: [], stop: [], failed: [] }],
    ['waits for a container that is starting or restarting', { agents: [ag('a1'), ag('a2', { container: 'h2' })], containers: [ci('h1', 'starting'), ci('h2', 'restarting')], local: [ai('a2', { container: 'h2' })] }, { start: [], stop: [], failed: [] }],
    ['fenced: stops every agent and starts none', { agents: [ag('a1'), ag('a2')], local: [ai('a1'), ai('x')], fenced: true }, { start: [], stop: ['a1: fenced', 'x: fenced'], failed: [] }],
    ['leaves agents with an operation in flight alone', { agents: [ag('a1')], local: [ai('x')], busy: new Set([`${NS}/a1`, `${NS}/x`]) }, { start: [], stop: [], failed: [] }],
  ])('%s', (_name, input, want) => {
    expect(plan(input)).toEqual(want);
  });

  it('is the same whatever order the Agents are listed in', () => {
    const agents = [ag('b'), ag('a'), ag('c')];
    expect(plan({ agents }).start).toEqual(['a', 'b', 'c']);
    expect(plan({ agents: [...agents].reverse() }).start).toEqual(['a', 'b', 'c']);
  });
});

describe('agentRequest', () => {
  it('hands the agent its id, type, config, manager URL and namespace; spec.env cannot override the identity', () => {
    const a = ag('trading-x7k2p');
    a.spec = { ...a.spec, args: ['--fast'], config: { strategy: 'momentum' }, env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'DROVER_AGENT_ID', value: 'someone-else' }], restartPolicy: 'OnFailure' };
    const req = agentRequest(a, { managerUrl: 'http://127.0.0.1:8000' });
    expect(req).toMatchObject({ namespace: NS, name: 'trading-x7k2p', uid: 'uid-trading-x7k2p', containerName: 'h1', command: ['node', 'a.js'], args: ['--fast'], restartPolicy: 'OnFailure', config: { strategy: 'momentum' } });
    expect(Object.fromEntries(req.env!.map((e) => [e.name, e.value]))).toEqual({
      LOG_LEVEL: 'debug', DROVER_AGENT_ID: 'trading-x7k2p', DROVER_AGENT_TYPE: 'trading', DROVER_AGENT_CONFIG: '{"strategy":"momentum"}',
      DROVER_MANAGER_URL: 'http://127.0.0.1:8000', DROVER_NAMESPACE: NS,
    });
  });
});

describe('agent status', () => {
  it.each<[ContainerState, number | null, string]>([
    ['created', null, 'Starting'], ['starting', null, 'Starting'], ['running', null, 'Running'], ['restarting', 1, 'Starting'],
    ['exited', 0, 'Succeeded'], ['exited', 2, 'Failed'], ['failed', 127, 'Failed'],
  ])('runtime state %s (exit %s) is phase %s', (state, code, phase) => {
    expect(agentPhase(state, code)).toBe(phase);
  });

  it('reports pid, execID, restarts and last exit, never the binding, and sees an identical status as unchanged', () => {
    const a = ag('a1');
    const info: AgentInfo = { ...ai('a1'), restarts: 2, startedAt: '2026-11-23T15:00:01.000Z', lastExit: { exitCode: 1, signal: null, reason: 'Error', finishedAt: '2026-11-23T15:00:00.000Z' } };
    const patch = agentStatusPatch(info, a);
    expect(patch).toEqual({
      phase: 'Running', pid: 2, execID: 'process://2', restarts: 2, startedAt: '2026-11-23T15:00:01.000Z',
      lastExit: { exitCode: 1, reason: 'Error', finishedAt: '2026-11-23T15:00:00.000Z' }, reason: null, message: null, observedGeneration: 1,
    });
    expect(statusChanged(a, patch)).toBe(true);
    const stored = { ...a, status: { ...a.status, ...patch, lastExit: { finishedAt: '2026-11-23T15:00:00.000Z', reason: 'Error', exitCode: 1 }, reason: undefined, message: undefined } };
    expect(statusChanged(stored, patch)).toBe(false);
  });
});

// ---- the node agent with a fake runtime against the real API ----

const NODE_TOKEN = 'node-n1-token';
let h: Harness;
let dataDir: string;
let runtime: FakeRuntime;
let mono: number;
let statusWrites: string[];
const nodeAgents: NodeAgent[] = [];

async function admin(method: string, path: string, body?: unknown) {
  const r = await h.call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}
const get = (plural: string, name: string) => admin('GET', `${BASE}/namespaces/${NS}/${plural}/${name}`);

async function nodeAgent(): Promise<NodeAgent> {
  writeCredential(dataDir, { server: h.url, namespace: NS, nodeName: 'n1', token: NODE_TOKEN });
  // counts the node's Agent status writes: a report that changes nothing must not be sent
  const f: typeof fetch = async (input, init) => {
    const m = /\/agents\/([^/]+)\/status$/.exec(String(input));
    if (m && init?.method === 'PATCH') statusWrites.push(m[1]);
    return fetch(input, init);
  };
  const a = await startNodeAgent({ ...parseAgentConfig({ server: h.url, name: 'n1', dataDir }) }, {
    runtime, logger: nullLogger(), clock: new FakeClock(Date.UTC(2026, 10, 23, 15, 0, 0)), monotonic: () => mono, loops: false, fetch: f,
  });
  nodeAgents.push(a);
  await a.heartbeatOnce();
  return a;
}

/** A running agent-host container on n1 (deployed through a task, as the container controller does). */
async function hostContainer(name: string, spec: Record<string, unknown> = {}) {
  const c = await admin('POST', `${BASE}/namespaces/${NS}/containers`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name },
    spec: { command: ['sleep', '100'], agentHost: { capacity: { agents: 4 } }, ...spec },
  });
  await admin('PATCH', `${BASE}/namespaces/${NS}/containers/${name}/status`, { status: { nodeName: 'n1', phase: 'Scheduled' } });
  await admin('POST', `${BASE}/namespaces/${NS}/tasks`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name: `${name}-deploy-aaaaa` },
    spec: { type: 'deploy', nodeName: 'n1', target: { kind: 'Container', name, uid: c.metadata.uid, generation: c.metadata.generation } },
  });
  await admin('PATCH', `${BASE}/namespaces/${NS}/tasks/${name}-deploy-aaaaa/status`, { status: { state: 'Assigned', assignedAt: '2026-11-23T15:00:00Z' } });
}

/** An Agent bound by hand the way the scheduler binds: spec.containerName, then /status. */
async function boundAgent(name: string, container: string, node = 'n1') {
  await admin('POST', `${BASE}/namespaces/${NS}/agents`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Agent', metadata: { name },
    spec: { agentType: 'trading', command: ['node', 'trading.js'], config: { symbol: 'ACME' }, containerName: container },
  });
  return admin('PATCH', `${BASE}/namespaces/${NS}/agents/${name}/status`, { status: { nodeName: node, containerName: container, phase: 'Scheduled' } });
}

async function settle(a: NodeAgent): Promise<void> {
  await a.syncOnce();
  await a.idle();
}

describe('node agent runs bound Agents', () => {
  beforeEach(async () => {
    h = await startApi({
      authenticator: staticAuthenticator({
        [TOKENS.admin]: { name: 'alice', role: 'admin' },
        [NODE_TOKEN]: { name: 'n1', role: 'node', cluster: NS, node: 'n1' },
      }),
    });
    expect((await h.call('POST', `${BASE}/clusters`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: NS }, spec: { failurePolicy: { heartbeatInterval: '1s', gracePeriod: '5s' } } })).status).toBe(201);
    dataDir = mkdtempSync(join(tmpdir(), 'drover-agent-sync-'));
    runtime = new FakeRuntime();
    mono = 0;
    statusWrites = [];
  });

  afterEach(async () => {
    for (const a of nodeAgents.splice(0)) await a.stop({ stopWorkloads: false });
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a bound agent in its container with its identity, reports Running once, and stops it when the Agent is deleted', async () => {
    const a = await nodeAgent();
    await hostContainer('host-1');
    await settle(a);
    const bound = await boundAgent('trading-aaaaa', 'host-1');
    await boundAgent('elsewhere-bbbbb', 'host-9', 'n2'); // not ours: never seen
    await settle(a);
    expect(runtime.ops().filter((o) => o.includes('Agent'))).toEqual(['startAgent trading-aaaaa']);
    const env = Object.fromEntries(runtime.agentRequests.get(`${NS}/trading-aaaaa`)!.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ DROVER_AGENT_ID: 'trading-aaaaa', DROVER_AGENT_TYPE: 'trading', DROVER_AGENT_CONFIG: '{"symbol":"ACME"}', DROVER_MANAGER_URL: h.url, DROVER_NAMESPACE: NS });
    const s = (await get('agents', 'trading-aaaaa')).status;
    expect(s).toMatchObject({ phase: 'Running', nodeName: 'n1', containerName: 'host-1', execID: expect.stringMatching(/^process:\/\/\d+$/), restarts: 0, observedGeneration: 1 });
    expect(s.pid).toBeGreaterThan(0);
    expect(statusWrites).toEqual(['trading-aaaaa']);

    await settle(a); // nothing changed: no second start, no second write
    expect(runtime.ops().filter((o) => o.includes('Agent'))).toEqual(['startAgent trading-aaaaa']);
    expect(statusWrites).toEqual(['trading-aaaaa']);

    await admin('DELETE', `${BASE}/namespaces/${NS}/agents/trading-aaaaa`);
    await settle(a);
    expect(runtime.ops().filter((o) => o.includes('Agent'))).toEqual(['startAgent trading-aaaaa', 'stopAgent trading-aaaaa']);
    expect(runtime.listAgents()).toEqual([]);
    expect(bound.metadata.uid).toBeDefined();
  });

  it('reports an exit and a restart as they happen (Failed with lastExit, then Starting with the restart count)', async () => {
    const a = await nodeAgent();
    await hostContainer('host-1');
    await settle(a);
    await boundAgent('risk-ccccc', 'host-1');
    await settle(a);
    runtime.setAgent(NS, 'risk-ccccc', { state: 'restarting', pid: undefined, restarts: 1, message: 'CrashLoopBackOff: back-off 1s', lastExit: { exitCode: 3, signal: null, reason: 'Error', finishedAt: '2026-11-23T15:00:05.000Z' } });
    await a.idle();
    expect((await get('agents', 'risk-ccccc')).status).toMatchObject({ phase: 'Starting', restarts: 1, message: 'CrashLoopBackOff: back-off 1s', lastExit: { exitCode: 3, reason: 'Error' } });
    expect((await get('agents', 'risk-ccccc')).status.pid).toBeUndefined();
    runtime.setAgent(NS, 'risk-ccccc', { state: 'failed', message: 'gave up' });
    await a.idle();
    expect((await get('agents', 'risk-ccccc')).status).toMatchObject({ phase: 'Failed', reason: 'Error', message: 'gave up', nodeName: 'n1', containerName: 'host-1' });
  });

  it('stops the agents of a container that stopped and reports them Failed ContainerNotRunning', async () => {
    const a = await nodeAgent();
    await hostContainer('host-1');
    await settle(a);
    await boundAgent('analysis-ddddd', 'host-1');
    await settle(a);
    await runtime.stop(NS, 'host-1');
    await settle(a);
    expect(runtime.ops().filter((o) => o.includes('Agent'))).toEqual(['startAgent analysis-ddddd', 'stopAgent analysis-ddddd']);
    expect((await get('agents', 'analysis-ddddd')).status).toMatchObject({
      phase: 'Failed', reason: 'ContainerNotRunning', message: 'container host-1 is exited on node n1', nodeName: 'n1', containerName: 'host-1',
    });
  });

  it('stops every agent when it fences itself, pinned containers included, and starts them again when the lease is back', async () => {
    const a = await nodeAgent();
    await hostContainer('pinned', { nodeName: 'n1' });
    await settle(a);
    await boundAgent('trading-eeeee', 'pinned');
    await settle(a);
    mono = 5_000;
    await a.checkFencing();
    expect(runtime.listAgents()).toEqual([]);
    expect(runtime.list().map((c) => c.name)).toEqual(['pinned']); // the pinned container itself stays
    await settle(a); // still fenced: nothing starts
    expect(runtime.listAgents()).toEqual([]);
    mono = 6_000;
    expect(await a.heartbeatOnce()).toBe(true);
    await settle(a);
    expect(runtime.listAgents().map((i) => i.name)).toEqual(['trading-eeeee']);
    expect(runtime.ops().filter((o) => o.includes('Agent'))).toEqual(['startAgent trading-eeeee', 'stopAgent trading-eeeee', 'startAgent trading-eeeee']);
  });

  it('ships agent output to …/agents/NAME/log, which the manager serves back', async () => {
    const a = await nodeAgent();
    await hostContainer('host-1');
    await settle(a);
    await boundAgent('trading-fffff', 'host-1');
    await settle(a);
    runtime.pendingAgentLogs.set(`${NS}/trading-fffff`, 'trading-fffff tick 1 value=42\n');
    await a.shipLogsOnce();
    const r = await h.call('GET', `${BASE}/namespaces/${NS}/agents/trading-fffff/log`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('trading-fffff tick 1 value=42\n');
    // a container of another name keeps its own log
    expect((await h.call('GET', `${BASE}/namespaces/${NS}/containers/host-1/log`)).text).toBe('');
  });
});

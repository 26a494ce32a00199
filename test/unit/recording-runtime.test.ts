import { describe, it, expect } from '@jest/globals';
import { RecordingRuntime } from '../../agent/recording-runtime.ts';
import type { AgentRequest, ContainerRequest, RuntimeEvent } from '../../agent/runtime.ts';
import { isApiError } from '../../core/errors.ts';
import { parseSimulateFlags } from '../../cli/commands/simulate.ts';
import { simulatedNodeNames } from '../../agent/simulated-nodes.ts';

const NS = 'sim';
const T0 = Date.UTC(2026, 0, 1);

function container(name: string, spec: Record<string, unknown> = {}, generation = 1, uid = `uid-${name}`): ContainerRequest {
  return { namespace: NS, name, uid, generation, spec: { command: ['x'], ...spec } };
}

function agent(name: string, containerName: string, uid = `uid-${name}`): AgentRequest {
  return { namespace: NS, name, uid, containerName, command: ['node', 'agent.js'] };
}

function recorded() {
  const rt = new RecordingRuntime({ now: () => T0, capacity: { cpu: '8', memory: '16Gi' } });
  const events: string[] = [];
  rt.on((ev: RuntimeEvent) => { if (ev.type !== 'discovered') events.push(`${ev.type} ${ev.info.name} ${ev.info.state}`); });
  return { rt, events };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('RecordingRuntime containers', () => {
  it('deploy records a running container with a fake id and emits one event', async () => {
    const { rt, events } = recorded();
    const info = await rt.deploy(container('c1'));
    expect(info).toMatchObject({ name: 'c1', state: 'running', health: 'None', restarts: 0, startedAt: new Date(T0).toISOString() });
    expect(info.containerID).toBe(`sim://${info.pid}`);
    expect(events).toEqual(['container c1 running']);
    expect(rt.list().map((c) => c.name)).toEqual(['c1']);
    expect(rt.counts.deploy).toBe(1);
  });

  it.each([
    ['the same uid and generation is left alone', 1, 'uid-c1', false, []],
    ['a new generation replaces the instance', 2, 'uid-c1', true, ['container c1 exited', 'container c1 running']],
    ['a recreated object (new uid) replaces it', 1, 'uid-other', true, ['container c1 exited', 'container c1 running']],
  ])('deploy again: %s', async (_what, generation, uid, replaced, want) => {
    const { rt, events } = recorded();
    const first = await rt.deploy(container('c1'));
    events.length = 0;
    const again = await rt.deploy(container('c1', {}, generation, uid));
    expect(again.pid !== first.pid).toBe(replaced);
    expect(events).toEqual(want);
  });

  it('a container with a health check reports Healthy at once (dependsOn Healthy can proceed)', async () => {
    const { rt } = recorded();
    expect((await rt.deploy(container('db', { healthCheck: { tcp: { port: 1 } } }))).health).toBe('Healthy');
  });

  it('stop, start and restart move the state and count restarts', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('c1'));
    const stopped = await rt.stop(NS, 'c1');
    expect(stopped).toMatchObject({ state: 'exited', lastExit: { reason: 'Killed', signal: 'SIGTERM' } });
    expect(stopped.pid).toBeUndefined();
    expect((await rt.start(NS, 'c1')).state).toBe('running');
    expect((await rt.restart(NS, 'c1')).restarts).toBe(1);
    expect(events).toEqual(['container c1 running', 'container c1 exited', 'container c1 running', 'container c1 exited', 'container c1 running']);
  });

  it('remove forgets the container; removing an unknown one is not an error', async () => {
    const { rt } = recorded();
    await rt.deploy(container('c1'));
    await rt.remove(NS, 'c1');
    await rt.remove(NS, 'never-there');
    expect(rt.list()).toEqual([]);
    expect(rt.get(NS, 'c1')).toBeUndefined();
  });

  it.each(['start', 'stop', 'restart'] as const)('%s of an unknown container is NotFound', async (op) => {
    const { rt } = recorded();
    expect(isApiError(await rejection(rt[op](NS, 'ghost')), 404)).toBe(true);
  });

  it('usage is the sum of the running containers\' requests, capacity as configured', async () => {
    const { rt } = recorded();
    await rt.deploy(container('a', { resources: { requests: { cpu: '250m', memory: '128Mi' } } }));
    await rt.deploy(container('b', { resources: { requests: { cpu: '1', memory: '1Gi' } } }));
    await rt.deploy(container('c', { resources: { requests: { cpu: '2' } } }));
    await rt.stop(NS, 'c');
    expect(await rt.nodeResources()).toEqual({ capacity: { cpu: '8', memory: '16Gi' }, usage: { cpu: '1250m', memory: '1152Mi' } });
  });
});

describe('RecordingRuntime agents', () => {
  it('startAgent runs the agent in its host container and is idempotent', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    const a = await rt.startAgent(agent('a1', 'host'));
    expect(a).toMatchObject({ name: 'a1', containerName: 'host', state: 'running', restarts: 0 });
    expect(a.id).toBe(`sim://${a.pid}`);
    expect((await rt.startAgent(agent('a1', 'host'))).pid).toBe(a.pid);
    expect(events).toEqual(['container host running', 'agent a1 running']);
    expect(rt.listAgents().map((x) => x.name)).toEqual(['a1']);
  });

  it('every container and agent gets its own fake pid', async () => {
    const { rt } = recorded();
    await rt.deploy(container('h1'));
    await rt.deploy(container('h2'));
    for (let i = 0; i < 5; i++) await rt.startAgent(agent(`a${i}`, i % 2 ? 'h1' : 'h2'));
    const pids = [...rt.list(), ...rt.listAgents()].map((x) => x.pid);
    expect(new Set(pids).size).toBe(7);
  });

  it.each([
    ['the host container is not on this node', async (_rt: RecordingRuntime) => undefined, 404],
    ['the host container is stopped', async (rt: RecordingRuntime) => { await rt.deploy(container('host')); await rt.stop(NS, 'host'); }, 409],
  ])('startAgent fails when %s', async (_what, setup, code) => {
    const { rt } = recorded();
    await setup(rt);
    const err = await rejection(rt.startAgent(agent('a1', 'host')));
    expect(isApiError(err, code)).toBe(true);
    expect(rt.listAgents()).toEqual([]);
  });

  it('starting the agent in another container moves it (the old instance exits first)', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('h1'));
    await rt.deploy(container('h2'));
    await rt.startAgent(agent('a1', 'h1'));
    events.length = 0;
    await rt.startAgent(agent('a1', 'h2'));
    expect(events).toEqual(['agent a1 exited', 'agent a1 running']);
    expect(rt.listAgents().map((a) => `${a.name}@${a.containerName}`)).toEqual(['a1@h2']);
  });

  it('stopAgent reports the exit and forgets the agent; unknown agents are ignored', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    await rt.startAgent(agent('a1', 'host'));
    await rt.stopAgent(NS, 'a1');
    await rt.stopAgent(NS, 'nobody');
    expect(events.slice(-1)).toEqual(['agent a1 exited']);
    expect(rt.listAgents()).toEqual([]);
    expect(rt.counts.stopAgent).toBe(2);
  });

  it.each([
    ['stopping', (rt: RecordingRuntime) => rt.stop(NS, 'host')],
    ['removing', (rt: RecordingRuntime) => rt.remove(NS, 'host')],
  ])('%s the host container stops its agents first', async (_what, op) => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    await rt.deploy(container('other'));
    await rt.startAgent(agent('a1', 'host'));
    await rt.startAgent(agent('a2', 'other'));
    events.length = 0;
    await op(rt);
    expect(events).toEqual(['agent a1 exited', 'container host exited']);
    expect(rt.listAgents().map((a) => a.name)).toEqual(['a2']);
  });

  it('restarting the host brings its agents back with one more restart', async () => {
    const { rt } = recorded();
    await rt.deploy(container('host'));
    const before = await rt.startAgent(agent('a1', 'host'));
    await rt.restart(NS, 'host');
    const [after] = rt.listAgents();
    expect(after).toMatchObject({ name: 'a1', state: 'running', restarts: 1 });
    expect(after.pid).not.toBe(before.pid);
  });

  it('crash marks an agent failed with its exit code', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    await rt.startAgent(agent('a1', 'host'));
    rt.crash('agent', NS, 'a1', 3);
    expect(rt.listAgents()[0]).toMatchObject({ state: 'failed', lastExit: { exitCode: 3, reason: 'Error' } });
    expect(events.slice(-1)).toEqual(['agent a1 failed']);
  });
});

describe('RecordingRuntime shutdown', () => {
  it('close with stopWorkloads stops everything; later deploys are refused', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    await rt.startAgent(agent('a1', 'host'));
    await rt.close({ stopWorkloads: true });
    expect(rt.list().map((c) => c.state)).toEqual(['exited']);
    expect(rt.listAgents()).toEqual([]);
    expect(events.slice(-2)).toEqual(['agent a1 exited', 'container host exited']);
    expect(isApiError(await rejection(rt.deploy(container('late'))), 409)).toBe(true);
  });

  it('close without stopWorkloads leaves them as they are', async () => {
    const { rt } = recorded();
    await rt.deploy(container('host'));
    await rt.close({ stopWorkloads: false });
    expect(rt.list().map((c) => c.state)).toEqual(['running']);
  });

  it('crashAll (kill -9 of the node) drops everything silently', async () => {
    const { rt, events } = recorded();
    await rt.deploy(container('host'));
    await rt.startAgent(agent('a1', 'host'));
    events.length = 0;
    rt.crashAll();
    expect([rt.list(), rt.listAgents(), events]).toEqual([[], [], []]);
    expect(await rt.recover()).toEqual([]);
  });
});

describe('drover simulate nodes flags', () => {
  it.each([
    [{ server: 'http://m:8000', joinToken: 'drvj_x' }, { count: 10, prefix: 'sim', capacity: { cpu: '16', memory: '64Gi' }, logLevel: 'warn' }],
    [{ server: 'http://m:8000', joinToken: 'drvj_x', count: '100', prefix: 'lost', containersPerNode: '4', nodeCpu: '8', dataDir: 'd' },
      { count: 100, prefix: 'lost', containersPerNode: 4, capacity: { cpu: '8', memory: '64Gi' }, dataDir: '/base/d' }],
  ])('%j parses', (flags, want) => {
    expect(parseSimulateFlags(flags, '/base')).toMatchObject(want);
  });

  it.each([
    [{ joinToken: 't' }, /--server is required/],
    [{ server: 'http://m' }, /--join-token is required/],
    [{ server: 'http://m', joinToken: 't', count: '0' }, /--count must be a positive integer/],
    [{ server: 'http://m', joinToken: 't', count: 'many' }, /--count must be a positive integer/],
    [{ server: 'http://m', joinToken: 't', prefix: 'Sim_' }, /--prefix "Sim_"/],
    [{ server: 'http://m', joinToken: 't', nodeMemory: 'lots' }, /--node-memory must be a quantity/],
  ])('%j is a usage error', (flags, message) => {
    expect(() => parseSimulateFlags(flags, '/base')).toThrow(message);
  });

  it.each([
    [5, ['sim-0', 'sim-1', 'sim-2', 'sim-3', 'sim-4']],
    [11, ['sim-00', 'sim-10']],
    [100, ['sim-00', 'sim-99']],
  ])('%i nodes are named with zero-padded indexes', (count, want) => {
    const names = simulatedNodeNames('sim', count);
    expect(names).toHaveLength(count);
    expect(count === 5 ? names : [names[0], names[count - 1]]).toEqual(want);
  });
});

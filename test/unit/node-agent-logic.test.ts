// Pure parts of the node agent: flag parsing, phase mapping, the sync plan and the fencing clock.
import { describe, it, expect } from '@jest/globals';
import { AgentConfigError, parseAgentConfig, parseLabels } from '../../agent/config.ts';
import { FencingTracker, heartbeatPatch } from '../../agent/heartbeat.ts';
import type { ContainerInfo } from '../../agent/runtime.ts';
import { containerConditions, containerStatusPatch, phaseFor } from '../../agent/status-mapping.ts';
import { planSync, type SyncInput } from '../../agent/sync-plan.ts';
import type { KubeObject } from '../../core/types.ts';

describe('parseAgentConfig', () => {
  it('fills the documented defaults', () => {
    const c = parseAgentConfig({ server: 'http://127.0.0.1:8000/' }, { cwd: '/srv', hostname: 'Worker-1.example.com' });
    expect(c).toMatchObject({
      server: 'http://127.0.0.1:8000', nodeName: 'worker-1', runtime: 'process', dataDir: '/srv/.drover-agent',
      listen: { host: '127.0.0.1', port: 8001 }, address: '127.0.0.1', capacityContainers: 50, capacityAgents: 200, labels: {}, taskLeaseMs: 30_000,
    });
  });

  it.each([
    [{}, /--server is required/],
    [{ server: 'not a url' }, /is not a URL/],
    [{ server: 'ftp://x' }, /http or https/],
    [{ server: 'http://m', name: 'Bad_Name' }, /DNS-1123/],
    [{ server: 'http://m', runtime: 'containerd' }, /--runtime "containerd" is not supported \(supported: process, docker\)/],
    [{ server: 'http://m', runtime: 'docker', dockerHost: 'docker.sock' }, /--docker-host must be unix:\/\/\/path/],
    [{ server: 'http://m', listen: 'localhost' }, /--listen must be HOST:PORT/],
    [{ server: 'http://m', capacityContainers: '0' }, /--capacity-containers must be a positive integer/],
    [{ server: 'http://m', labels: 'zone' }, /not key=value/],
    [{ server: 'http://m', taskLease: '10' }, /--task-lease: invalid duration/],
    [{ server: 'http://m', taskLease: '100ms' }, /at least 300ms/],
  ])('rejects %j', (flags, msg) => {
    expect(() => parseAgentConfig(flags, { hostname: 'h' })).toThrow(AgentConfigError);
    expect(() => parseAgentConfig(flags, { hostname: 'h' })).toThrow(msg);
  });

  it.each([
    ['zone=eu-1,disk=ssd', { zone: 'eu-1', disk: 'ssd' }],
    [' drover.dev/gpu=true , empty= ', { 'drover.dev/gpu': 'true', empty: '' }],
    ['', {}],
  ])('parses labels %j', (text, want) => {
    expect(parseLabels(text)).toEqual(want);
  });
});

const info = (over: Partial<ContainerInfo>): ContainerInfo => ({
  namespace: 'c1', name: 'web', uid: 'u1', generation: 2, containerID: 'process://42', pid: 42,
  state: 'running', health: 'None', restarts: 0, ...over,
});

describe('phaseFor', () => {
  it.each([
    ['created', undefined, undefined, 'Starting'],
    ['starting', undefined, undefined, 'Starting'],
    ['running', undefined, undefined, 'Running'],
    ['restarting', undefined, undefined, 'Restarting'],
    ['stopping', undefined, undefined, 'Stopping'],
    ['exited', 'Always', 1, 'Stopped'],
    ['exited', 'Never', 0, 'Stopped'],
    ['exited', 'Never', 3, 'Failed'],
    ['failed', 'OnFailure', 1, 'Failed'],
  ] as const)('%s with restartPolicy %s and exit code %s is %s', (state, policy, exitCode, phase) => {
    const lastExit = exitCode === undefined ? undefined : { exitCode, signal: null, reason: 'Error', finishedAt: '2026-01-01T00:00:00Z' };
    expect(phaseFor({ state, lastExit }, policy)).toBe(phase);
  });
});

describe('container status report', () => {
  const now = '2026-01-01T00:00:10.000Z';

  it.each([
    [{ state: 'running', health: 'None' }, 'True', 'True'],
    [{ state: 'running', health: 'Healthy' }, 'True', 'True'],
    [{ state: 'running', health: 'Starting' }, 'True', 'False'],
    [{ state: 'running', health: 'Unhealthy' }, 'True', 'False'],
    [{ state: 'exited', health: 'None' }, 'False', 'False'],
  ] as const)('%j → Started=%s Healthy=%s', (over, started, healthy) => {
    const conds = containerConditions(info(over), undefined, now);
    expect(conds.map((c) => [c.type, c.status])).toEqual([['Started', started], ['Healthy', healthy]]);
  });

  it('keeps lastTransitionTime while a condition holds and keeps conditions other writers own', () => {
    const prev = [
      { type: 'Scheduled', status: 'True' as const, lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Started', status: 'True' as const, lastTransitionTime: '2026-01-01T00:00:01Z' },
    ];
    const conds = containerConditions(info({}), prev, now);
    expect(conds.find((c) => c.type === 'Scheduled')).toEqual(prev[0]);
    expect(conds.find((c) => c.type === 'Started')?.lastTransitionTime).toBe('2026-01-01T00:00:01Z');
    expect(conds.find((c) => c.type === 'Healthy')?.lastTransitionTime).toBe(now);
  });

  it('never carries nodeName and reports the generation it runs', () => {
    const p = containerStatusPatch(info({ restarts: 2 }), 'Always', undefined, now);
    expect(p).not.toHaveProperty('nodeName');
    expect(p).toMatchObject({ phase: 'Running', containerID: 'process://42', restarts: 2, observedGeneration: 2, health: 'None' });
  });
});

const container = (name: string, over: { uid?: string; state?: string; pinned?: string; deleting?: boolean } = {}): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container',
  metadata: { name, namespace: 'c1', uid: over.uid ?? `uid-${name}`, generation: 1, ...(over.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { command: ['sleep', '1000'], ...(over.state ? { state: over.state } : {}), ...(over.pinned ? { nodeName: over.pinned } : {}) },
  status: { nodeName: 'n1' },
});

const task = (name: string, type: string, target: string, state: string | undefined, over: { priority?: number; created?: string } = {}): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Task',
  metadata: { name, namespace: 'c1', uid: `uid-task-${name}`, creationTimestamp: over.created ?? '2026-01-01T00:00:00Z' },
  spec: { type, target: { kind: 'Container', name: target, uid: `uid-${target}` }, nodeName: 'n1', priority: over.priority ?? 5 },
  ...(state ? { status: { state } } : {}),
});

const local = (name: string, uid = `uid-${name}`): ContainerInfo => info({ name, uid });

function plan(over: Partial<SyncInput>) {
  const p = planSync({ tasks: [], containers: [], local: [], inFlightTasks: new Set(), busy: new Set(), fenced: new Set(), ...over });
  return { claim: p.claim.map((t) => t.metadata.name), redeploy: p.redeploy.map((c) => c.metadata.name), remove: p.remove.map((i) => i.name) };
}

describe('planSync', () => {
  it('claims only Assigned tasks, by priority then age then name, skipping ones in flight', () => {
    expect(plan({
      tasks: [
        task('a-old', 'deploy', 'a', 'Assigned', { created: '2026-01-01T00:00:00Z' }),
        task('b-new', 'deploy', 'b', 'Assigned', { created: '2026-01-01T00:00:05Z' }),
        task('c-urgent', 'restart', 'c', 'Assigned', { priority: 9, created: '2026-01-01T00:00:09Z' }),
        task('d-cancelled', 'deploy', 'd', 'Cancelled'),
        task('e-queued', 'restart', 'e', 'Queued'),
        task('f-flight', 'deploy', 'f', 'Assigned'),
        task('g-pending', 'deploy', 'g', undefined),
      ],
      inFlightTasks: new Set(['uid-task-f-flight']),
    }).claim).toEqual(['c-urgent', 'a-old', 'b-new']);
  });

  it.each([
    ['ran here before (deploy Completed), runtime lost it', [task('t1', 'deploy', 'web', 'Completed')], {}, [], ['web']],
    ['never deployed here', [], {}, [], []],
    ['its deploy is still open', [task('t1', 'deploy', 'web', 'Completed'), task('t2', 'update', 'web', 'Assigned')], {}, [], []],
    ['desired state Stopped', [task('t1', 'deploy', 'web', 'Completed')], { state: 'Stopped' }, [], []],
    ['being deleted', [task('t1', 'deploy', 'web', 'Completed')], { deleting: true }, [], []],
    ['fenced by this agent, no task kept', [], {}, ['c1/web'], ['web']],
    ['a Completed deploy of an older object of that name', [task('t1', 'deploy', 'web', 'Completed')], { uid: 'uid-new' }, [], []],
    ['removed here by a drain (its last completed task a delete)', [task('t1', 'deploy', 'web', 'Completed', { created: '2026-01-01T00:00:00Z' }), task('t2', 'delete', 'web', 'Completed', { created: '2026-01-01T00:01:00Z' })], {}, [], []],
    ['deployed again after an earlier drain', [task('t1', 'delete', 'web', 'Completed', { created: '2026-01-01T00:00:00Z' }), task('t2', 'deploy', 'web', 'Completed', { created: '2026-01-01T00:01:00Z' })], {}, [], ['web']],
  ] as const)('restore decision for a bound container the runtime lacks: %s', (_why, tasks, over, fencedKeys, want) => {
    expect(plan({ tasks: [...tasks], containers: [container('web', over)], fenced: new Set(fencedKeys) }).redeploy).toEqual(want);
  });

  it('does not restore what the runtime runs, or what is busy', () => {
    const tasks = [task('t1', 'deploy', 'web', 'Completed')];
    expect(plan({ tasks, containers: [container('web')], local: [local('web')] }).redeploy).toEqual([]);
    expect(plan({ tasks, containers: [container('web')], busy: new Set(['c1/web']) }).redeploy).toEqual([]);
  });

  it('removes local containers that are no longer bound here or were recreated, unless busy', () => {
    expect(plan({
      containers: [container('kept'), container('renewed', { uid: 'uid-2' })],
      local: [local('kept'), local('renewed', 'uid-1'), local('moved'), local('busy')],
      busy: new Set(['c1/busy']),
    }).remove).toEqual(['renewed', 'moved']);
  });
});

describe('FencingTracker', () => {
  it('fences once when silence reaches the grace period, measured from the last accepted send', () => {
    const f = new FencingTracker(0);
    expect(f.shouldFence(9_999, 10_000)).toBe(false);
    expect(f.recordSuccess(5_000)).toBe(false);
    expect(f.shouldFence(14_999, 10_000)).toBe(false);
    expect(f.shouldFence(15_000, 10_000)).toBe(true);
    expect(f.fenced).toBe(true);
    expect(f.shouldFence(20_000, 10_000)).toBe(false); // once per episode
    expect(f.recordSuccess(21_000)).toBe(true); // reconnect ends the episode
    expect(f.fenced).toBe(false);
  });

  it('a late answer to an old send does not move the fence forward past newer sends', () => {
    const f = new FencingTracker(0);
    f.recordSuccess(8_000);
    f.recordSuccess(2_000);
    expect(f.silenceMs(12_000)).toBe(4_000);
  });
});

describe('heartbeatPatch', () => {
  it('sends lastHeartbeatTime with millisecond precision, usage and Ready=True', () => {
    const p = heartbeatPatch({ usage: { cpu: '100m', memory: '1Gi' }, containers: 3, agents: 1 }, undefined, Date.UTC(2026, 10, 23, 15, 50, 50, 123));
    expect(p).toEqual({
      status: {
        lastHeartbeatTime: '2026-11-23T15:50:50.123Z',
        usage: { cpu: '100m', memory: '1Gi', containers: 3, agents: 1 },
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: expect.any(String), lastTransitionTime: '2026-11-23T15:50:50.123Z' }],
      },
    });
  });
});

describe('planSync: discovered (spec.managed=false) containers', () => {
  const unmanaged = (name: string, uid = `uid-${name}`): KubeObject => ({
    ...container(name, { uid, pinned: 'n1' }), spec: { managed: false, nodeName: 'n1', agentHost: {} },
  });

  it('attaches one the runtime does not know, without any task, only when the runtime can (docker)', () => {
    expect(plan({ containers: [unmanaged('seeds')], attachUnmanaged: true }).redeploy).toEqual(['seeds']);
    expect(plan({ containers: [unmanaged('seeds')] }).redeploy).toEqual([]);
  });

  it('leaves one attached under the same uid alone, and re-attaches (never removes) one known under an older uid', () => {
    expect(plan({ containers: [unmanaged('seeds')], local: [local('seeds')], attachUnmanaged: true })).toEqual({ claim: [], redeploy: [], remove: [] });
    expect(plan({ containers: [unmanaged('seeds', 'uid-new')], local: [local('seeds', 'uid-old')], attachUnmanaged: true }))
      .toEqual({ claim: [], redeploy: ['seeds'], remove: [] });
  });

  it('forgets one whose object was deleted (the runtime never removes a discovered container itself)', () => {
    expect(plan({ containers: [], local: [local('seeds')], attachUnmanaged: true }).remove).toEqual(['seeds']);
  });
});

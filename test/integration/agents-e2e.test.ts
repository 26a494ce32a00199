// Issue 4 end to end: a real manager, three real node agents (process runtime) behind proxies the test
// can cut, six agent-host containers, and AgentDeployments whose agents are real processes.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import {
  startManager, startNodeAgent, drover, api, freePort, eventually, sleep, cleanup,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const NS = 'fleet';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
let m: ManagerProcess;
let managerPort: number;
let joinToken: string;
const proxies: Record<string, TcpProxy> = {};
const agents: Record<string, AgentProcess> = {};
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const list = async (plural: string, q = '') => (await api(m, 'GET', `${BASE}/${plural}${q}`)).body.items as any[];

/**
 * Agent ids of the agent processes really running on this machine for namespace NS (from /proc/PID/environ).
 * Only the root of each agent counts: its children (the shell's `sleep`) inherit the same environment.
 */
function liveAgentProcesses(): Map<string, number[]> {
  const idOf = new Map<number, string>();
  const parentOf = new Map<number, number>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    const pid = Number(p);
    try {
      const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!vars.includes(`DROVER_NAMESPACE=${NS}`)) continue;
      const id = vars.find((v) => v.startsWith('DROVER_AGENT_ID='))?.slice('DROVER_AGENT_ID='.length);
      if (!id) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state[0] === 'Z') continue; // exited, not yet reaped
      idOf.set(pid, id);
      parentOf.set(pid, Number(state[1]));
    } catch {
      continue; // the process ended while we looked
    }
  }
  const out = new Map<string, number[]>();
  for (const [pid, id] of idOf) {
    if (idOf.get(parentOf.get(pid)!) === id) continue;
    out.set(id, [...(out.get(id) ?? []), pid]);
  }
  return out;
}

async function startNode(name: string, zone: string) {
  proxies[name] ??= await startTcpProxy(managerPort);
  agents[name] = await startNodeAgent(m, { name, namespace: NS, server: proxies[name].url, joinToken, labels: `zone=${zone}` });
}

function hostYaml(name: string, node: string, caps: string[]) {
  return `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ${name}, namespace: ${NS}, labels: {tier: agents}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  agentHost: {capabilities: [${caps.join(', ')}], capacity: {agents: 10}}
`;
}

function deploymentYaml(name: string, replicas: number, placement: string) {
  return `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  agentType: ${name}
  replicas: ${replicas}
  template:
    command: [/bin/sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
  placement: ${placement}
  disruption: {maxUnavailable: 2}
  rebalance: {enabled: true, minAge: 0s}
`;
}

async function runningByContainer(deployment: string, want: number): Promise<Record<string, number>> {
  const agentsOf = await eventually(`${want} agents of ${deployment} Running`, async () => {
    const items = await list('agents', `?labelSelector=${encodeURIComponent(`drover.dev/deployment=${deployment}`)}`);
    return items.length === want && items.every((a) => a.status?.phase === 'Running') ? items : undefined;
  }, 90_000, 250);
  const counts: Record<string, number> = {};
  for (const a of agentsOf) counts[a.spec.containerName] = (counts[a.spec.containerName] ?? 0) + 1;
  return counts;
}

async function deleteDeployment(name: string) {
  await run(['delete', 'agentdeployment', name, '-n', NS]);
  await eventually(`agents of ${name} gone`, async () => {
    const left = await list('agents', `?labelSelector=${encodeURIComponent(`drover.dev/deployment=${name}`)}`);
    return left.length === 0 && ![...liveAgentProcesses().keys()].some((id) => id.startsWith(`${name}-`));
  }, 60_000, 250);
}

beforeAll(async () => {
  managerPort = await freePort();
  m = await startManager({ port: managerPort });
  const applied = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 4s}
  rebalancePolicy: {enabled: false}
`);
  expect(applied.code).toBe(0);
  joinToken = (await run(['token', 'create', '--join', '--cluster', NS])).stdout.trim();
  await startNode('node-a', 'a');
  await startNode('node-b', 'b');
  await startNode('node-c', 'c');
  const hosts = await run(['apply', '-f', '-'], [
    hostYaml('c1', 'node-a', ['cpu']), hostYaml('c2', 'node-a', ['cpu', 'gpu']),
    hostYaml('c3', 'node-b', ['cpu']), hostYaml('c4', 'node-b', ['cpu', 'gpu']),
    hostYaml('c5', 'node-c', ['cpu', 'gpu', 'fpga']), hostYaml('c6', 'node-c', ['cpu', 'gpu', 'fpga']),
  ].join('---\n'));
  expect(hosts.code).toBe(0);
  await eventually('six agent hosts Running', async () => (await list('containers')).filter((c) => c.status?.phase === 'Running').length === 6, 60_000);
}, 120_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.stop().catch(() => undefined);
  for (const p of Object.values(proxies)) await p.close();
  await cleanup();
});

describe('30 agents with each strategy', () => {
  it.each([
    ['LeastLoaded', '{strategy: LeastLoaded}', (c: Record<string, number>) => expect(Object.values(c).sort()).toEqual([5, 5, 5, 5, 5, 5])],
    ['RoundRobin', '{strategy: RoundRobin}', (c: Record<string, number>) => expect(Object.values(c).sort()).toEqual([5, 5, 5, 5, 5, 5])],
    ['Spread', '{strategy: Spread, spreadBy: node}', (c: Record<string, number>) => {
      const perNode = { a: (c.c1 ?? 0) + (c.c2 ?? 0), b: (c.c3 ?? 0) + (c.c4 ?? 0), c: (c.c5 ?? 0) + (c.c6 ?? 0) };
      expect(perNode).toEqual({ a: 10, b: 10, c: 10 });
    }],
    ['ResourceOptimal', '{strategy: ResourceOptimal}', (c: Record<string, number>) => expect(Object.values(c).sort((x, y) => y - x)).toEqual([10, 10, 10])],
    ['CapabilityMatch', '{strategy: CapabilityMatch, requiredCapabilities: [gpu]}', (c: Record<string, number>) => {
      // c2 and c4 have gpu and nothing more that is unneeded: they fill first; c5/c6 (fpga too) take the rest; c1/c3 lack gpu
      expect(c.c2).toBe(10);
      expect(c.c4).toBe(10);
      expect((c.c5 ?? 0) + (c.c6 ?? 0)).toBe(10);
      expect(c.c1 ?? 0).toBe(0);
      expect(c.c3 ?? 0).toBe(0);
    }],
  ])('%s', async (strategy, placement, check) => {
    const name = strategy.toLowerCase();
    try {
      expect((await run(['apply', '-f', '-'], deploymentYaml(name, 30, placement))).code).toBe(0);
      check(await runningByContainer(name, 30));
      const mine = [...liveAgentProcesses()].filter(([id]) => id.startsWith(`${name}-`));
      expect(mine.length).toBe(30);
      expect(mine.filter(([, pids]) => pids.length !== 1)).toEqual([]);
    } finally {
      await deleteDeployment(name);
    }
  }, 180_000);
});

describe('failover', () => {
  it('killing a node agent moves its agents elsewhere with Events, and no agent id ever runs twice', async () => {
    expect((await run(['apply', '-f', '-'], deploymentYaml('survivor', 12, '{strategy: LeastLoaded}'))).code).toBe(0);
    await runningByContainer('survivor', 12);
    const onA = (await list('agents')).filter((a) => a.status?.nodeName === 'node-a').map((a) => a.metadata.name);
    expect(onA.length).toBeGreaterThan(0);
    let duplicate = '';
    const watcher = setInterval(() => {
      for (const [id, pids] of liveAgentProcesses()) if (pids.length > 1) duplicate = `${id}: ${pids}`;
    }, 100);
    try {
      await agents['node-a'].kill9();
      const counts = await eventually('all 12 Running off node-a', async () => {
        const items = await list('agents', `?labelSelector=${encodeURIComponent('drover.dev/deployment=survivor')}`);
        return items.length === 12 && items.every((a) => a.status?.phase === 'Running' && a.status?.nodeName !== 'node-a') ? items : undefined;
      }, 90_000, 250);
      expect(counts.length).toBe(12);
    } finally {
      clearInterval(watcher);
    }
    expect(duplicate).toBe('');
    // the same agent ids, now elsewhere, each moved with an Event naming why
    const events = (await list('events')).filter((e) => e.reason === 'Migrated' && onA.includes(e.involvedObject.name));
    expect(new Set(events.map((e) => e.involvedObject.name))).toEqual(new Set(onA));
    expect(events[0].message).toMatch(/node-a/);
    await startNode('node-a', 'a'); // back for the next tests (same data dir is not needed: a new identity is fine)
  }, 150_000);

  it('a partitioned node fences itself, the others take over, and nothing runs twice', async () => {
    const onB = (await list('agents')).filter((a) => a.status?.nodeName === 'node-b');
    expect(onB.length).toBeGreaterThan(0);
    const pidsBefore = liveAgentProcesses();
    let duplicate = '';
    const watcher = setInterval(() => {
      for (const [id, pids] of liveAgentProcesses()) if (pids.length > 1) duplicate = `${id}: ${pids}`;
    }, 100);
    try {
      await proxies['node-b'].cut();
      // node-b's agent process is alive but cut off: after the grace period it stops its agents itself
      await eventually('node-b fenced its agents', async () => onB.every((a) => !(liveAgentProcesses().get(a.metadata.name) ?? []).some((p) => pidsBefore.get(a.metadata.name)?.includes(p))), 30_000, 200);
      await eventually('survivors Running off node-b', async () => {
        const items = await list('agents', `?labelSelector=${encodeURIComponent('drover.dev/deployment=survivor')}`);
        return items.length === 12 && items.every((a) => a.status?.phase === 'Running' && a.status?.nodeName !== 'node-b');
      }, 90_000, 250);
    } finally {
      clearInterval(watcher);
    }
    expect(duplicate).toBe('');
    await proxies['node-b'].heal();
    await eventually('node-b Ready again', async () => (await api(m, 'GET', `${BASE}/nodes/node-b`)).body.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'), 30_000);
    await sleep(3000);
    // healed: node-b does not start its old agents again
    for (const [id, pids] of liveAgentProcesses()) expect([id, pids.length]).toEqual([id, 1]);
  }, 150_000);
});

describe('rebalancing', () => {
  const clusterYaml = (enabled: boolean, period: number) => `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 4s}
  rebalancePolicy: {enabled: ${enabled}, interval: ${period}s, threshold: 0.1, maxMigrationsPerRound: 2}
`;
  it('a new node receives agents from the rebalancer within one period, never more than the budget at once, as the dry run planned', async () => {
    const period = 5;
    expect((await run(['apply', '-f', '-'], clusterYaml(false, period))).code).toBe(0);
    expect((await run(['apply', '-f', '-'], deploymentYaml('balance', 36, '{strategy: LeastLoaded}'))).code).toBe(0);
    await runningByContainer('balance', 36);
    await startNode('node-d', 'd');
    const hosts = await run(['apply', '-f', '-'], [hostYaml('c7', 'node-d', ['cpu']), hostYaml('c8', 'node-d', ['cpu'])].join('---\n'));
    expect(hosts.code).toBe(0);
    await eventually('c7, c8 Running', async () => (await list('containers')).filter((c) => ['c7', 'c8'].includes(c.metadata.name) && c.status?.phase === 'Running').length === 2, 30_000);

    const dry = await run(['rebalance', '-n', NS, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^2 move\(s\): imbalance/m); // bounded by maxMigrationsPerRound
    const planned = [...dry.stdout.matchAll(/^([a-z]+-[a-z0-9]{5})\s+[a-z]+\s+(c\d) \(node-.\)\s+(c\d) \(node-.\)/gm)].map((x) => ({ agent: x[1], from: x[2], to: x[3] }));
    expect(planned.length).toBe(2);
    expect(planned.every((p) => ['c7', 'c8'].includes(p.to))).toBe(true);
    // the dry run changed nothing
    expect((await list('agents')).filter((a) => ['c7', 'c8'].includes(a.spec.containerName))).toEqual([]);

    // turn the periodic rebalancer on: it must act within one period
    expect((await run(['apply', '-f', '-'], clusterYaml(true, period))).code).toBe(0);
    const t0 = Date.now();
    let maxInFlight = 0;
    let firstMoveAt = 0;
    let onNew: any[] = [];
    await eventually('the new node is used', async () => {
      const items = await list('agents');
      const names = new Set(items.map((a) => a.metadata.name));
      const inFlight = items.filter((a) => names.has(a.metadata.annotations?.['drover.dev/replaces'] ?? '')).length;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const onD = items.filter((a) => ['c7', 'c8'].includes(a.spec.containerName));
      if (onD.length && !firstMoveAt) firstMoveAt = Date.now();
      onNew = onD;
      return onD.filter((a) => a.status?.phase === 'Running' && !names.has(a.metadata.annotations?.['drover.dev/replaces'] ?? '')).length >= 4;
    }, 120_000, 100);
    expect(firstMoveAt - t0).toBeLessThanOrEqual((period + 3) * 1000);
    expect(maxInFlight).toBeLessThanOrEqual(2); // maxMigrationsPerRound 2, maxUnavailable 2
    // the first round moved exactly the agents the dry run named (a round's moves share their last-moved time;
    // the next round may follow as soon as they are done, so a poll can see two rounds at once)
    const movedAt = (a: any) => a.metadata.annotations?.['drover.dev/last-moved'] as string;
    const firstRoundAt = onNew.map(movedAt).sort()[0];
    const firstMoved = onNew.filter((a) => movedAt(a) === firstRoundAt).map((a) => a.metadata.annotations?.['drover.dev/replaces']);
    expect(firstMoved.sort()).toEqual(planned.map((p) => p.agent).sort());
    const rebalanced = (await list('events')).filter((e) => e.reason === 'Rebalanced');
    expect(rebalanced.length).toBeGreaterThanOrEqual(4);
    // once the moves settle, exactly one process per Running agent: nothing orphaned, nothing doubled
    await eventually('processes match Running agents', async () => {
      const running = (await list('agents')).filter((a) => a.status?.phase === 'Running').map((a) => a.metadata.name).sort();
      const live = liveAgentProcesses();
      return JSON.stringify([...live.keys()].sort()) === JSON.stringify(running) && [...live.values()].every((p) => p.length === 1);
    }, 60_000, 250);
  }, 180_000);
});

describe('planned moves', () => {
  const agentsOf = (d: string) => list('agents', `?labelSelector=${encodeURIComponent(`drover.dev/deployment=${d}`)}`);

  /** Follow a make-before-break move: the replacement's process must be up before the old one's goes. */
  async function followMove(oldName: string, what: string) {
    let newUpAt = 0;
    let oldGoneAt = 0;
    let replacement = '';
    const oldPid = liveAgentProcesses().get(oldName)?.[0];
    expect(oldPid).toBeDefined();
    await eventually(what, async () => {
      const live = liveAgentProcesses();
      const items = await list('agents');
      const repl = items.find((a) => a.metadata.annotations?.['drover.dev/replaces'] === oldName);
      if (repl) replacement = repl.metadata.name;
      if (replacement && !newUpAt && live.has(replacement)) newUpAt = Date.now();
      if (!oldGoneAt && !live.get(oldName)?.includes(oldPid!)) oldGoneAt = Date.now();
      return replacement && oldGoneAt && !items.some((a) => a.metadata.name === oldName) && repl?.status?.phase === 'Running';
    }, 60_000, 50);
    expect(newUpAt).toBeGreaterThan(0);
    expect(newUpAt).toBeLessThanOrEqual(oldGoneAt);
    return (await list('agents')).find((a) => a.metadata.name === replacement)!;
  }

  it('drover scale changes the number of replicas', async () => {
    // quiet the rebalancer so it does not move what this test moves
    await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 4s}
  rebalancePolicy: {enabled: false}
`);
    expect((await run(['apply', '-f', '-'], deploymentYaml('mover', 2, '{strategy: LeastLoaded}'))).code).toBe(0);
    await runningByContainer('mover', 2);
    const scaled = await run(['scale', 'agentdeployment', 'mover', '--replicas', '4', '-n', NS]);
    expect(scaled.stdout).toMatch(/^agentdeployment\.drover\.dev\/mover scaled$/m);
    await runningByContainer('mover', 4);
  }, 90_000);

  it('drover migrate starts the replacement in the target container before it stops the old agent', async () => {
    const victim = (await agentsOf('mover')).find((a) => a.spec.containerName !== 'c5')!;
    const cli = run(['migrate', 'agent', victim.metadata.name, '--to', 'c5', '-n', NS]);
    const repl = await followMove(victim.metadata.name, 'drover migrate done');
    expect((await cli).code).toBe(0);
    expect(repl.spec.containerName).toBe('c5');
    expect(repl.status.nodeName).toBe('node-c');
  }, 90_000);

  it('the seed API migrate request is carried out make-before-break too', async () => {
    const victim = (await agentsOf('mover')).find((a) => a.spec.containerName !== 'c6')!;
    const r = await api(m, 'POST', `/api/v1/cluster/agents/${victim.metadata.name}/migrate?namespace=${NS}`, { to: 'c6' });
    expect(r.status).toBe(202);
    const repl = await followMove(victim.metadata.name, 'seed migrate done');
    expect(repl.spec.containerName).toBe('c6');
    const moved = (await list('events')).filter((e) => e.reason === 'Rebalanced' && e.message.includes(victim.metadata.name));
    expect(moved.length).toBe(1);
  }, 90_000);
});

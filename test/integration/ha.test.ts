// High availability on etcd, end to end with real processes: three etcd members, two managers
// (`--store etcd`, leader election with a 3 s lease), two node agents (`drover simulate nodes`: the real
// node-agent code over a runtime that only records, so 1,000 agents fit on two cores), and the CLI. Node
// agents and the CLI reach the managers through a TCP balancer on loopback, as they would through the load
// balancer or VIP a production setup puts in front of several managers.
//  1. kill -9 of the leader manager in the middle of a 1,000-agent AgentDeployment rollout → the standby
//     leads within TTL + 2 s and the rollout completes: exactly 1,000 Agents, each created once and never
//     deleted (no duplicate), each run by exactly one node, and every object that existed before is still there;
//  2. kill -9 of etcd's raft leader member while the CLI applies and reads in a loop → no CLI command fails;
//  3. a paused leader (SIGSTOP) is replaced within TTL + 2 s and stops its controllers as soon as it runs again.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeCliConfig, mergeContext, emptyCliConfig } from '../../core/cli-config.ts';
import { startManager, drover, api, eventually, tempDir, cleanup, sleep, track, REPO, type ManagerProcess } from '../helpers/processes.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.ts';

const TTL_S = 3;
const REPLICAS = 1000;
const NS = 'ha';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
const NODES = ['node-a-0', 'node-b-0'];
const HOSTS_PER_NODE = 10;
const SLOTS_PER_HOST = 60; // 1,200 slots for 1,000 agents

let etcd: EtcdCluster;
let managers: ManagerProcess[] = [];
let lb: TcpBalancer;
let config: string; // CLI config pointing at the balancer
let token: string;
const sims: ChildProcess[] = [];

const managerArgs = () => ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), '--leader-lease-ttl', `${TTL_S}s`, '--rate-limit', '0'];
const portOf = (m: ManagerProcess) => Number(new URL(m.url).port);
const via = (m: { url: string }) => ({ url: m.url, token });
const run = (args: string[], input?: string) => drover(args, { config, input, timeoutMs: 30_000 });
const leaderOf = async (m: ManagerProcess) => (await api(via(m), 'GET', '/leader')).body as { isLeader: boolean; leader?: { url?: string; id: string } };

/** The JSON log lines of a manager with this message. */
function logLines(m: ManagerProcess, message: string): Array<{ timestamp: string; [k: string]: unknown }> {
  return m.output().split('\n').filter((l) => l.includes(`"message":"${message}"`)).map((l) => JSON.parse(l));
}

/** Every ADDED/DELETED of an Agent as seen by a watch on one manager (re-watching from the last version). */
function watchAgents(m: ManagerProcess) {
  const added = new Map<string, number>();
  const deleted: string[] = [];
  const addedAt: number[] = [];
  const ac = new AbortController();
  let rv = '';
  let ended: Error | undefined;
  (async () => {
    const first = (await api(via(m), 'GET', `${BASE}/agents`)).body;
    rv = first.metadata.resourceVersion;
    for (const a of first.items) added.set(a.metadata.name, (added.get(a.metadata.name) ?? 0) + 1);
    while (!ac.signal.aborted) {
      try {
        const r = await fetch(`${m.url}${BASE}/agents?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
        const reader = r.body!.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === 'ERROR') throw new Error(`agent watch: ${JSON.stringify(ev.object)}`);
            rv = ev.object.metadata.resourceVersion ?? rv;
            const name = ev.object.metadata.name as string;
            if (ev.type === 'ADDED') {
              added.set(name, (added.get(name) ?? 0) + 1);
              addedAt.push(Date.now());
            }
            if (ev.type === 'DELETED') deleted.push(name);
          }
        }
      } catch (e) {
        if (ac.signal.aborted) return;
        ended = e as Error;
        return;
      }
    }
  })().catch((e: Error) => (ended = e));
  return { added, deleted, addedAt, stop: () => ac.abort(), error: () => ended };
}

function simulate(prefix: string, joinToken: string): ChildProcess {
  const p = track(spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'simulate', 'nodes', '--count', '1', '--prefix', prefix,
    '--server', lb.url, '--join-token', joinToken, '--data-dir', tempDir(`drover-ha-${prefix}-`),
    '--containers-per-node', String(HOSTS_PER_NODE + 5), '--agents-per-node', String(HOSTS_PER_NODE * SLOTS_PER_HOST)], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  p.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
  (p as ChildProcess & { errText?: () => string }).errText = () => err;
  sims.push(p);
  return p;
}

async function snapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const kinds = ['nodes', 'containers', 'agentdeployments', 'agents'];
  for (const k of kinds) {
    const r = await api(via(managers[1]), 'GET', `${BASE}/${k}`);
    for (const o of r.body.items) out.set(`${k}/${o.metadata.name}`, o.metadata.uid);
  }
  const c = await api(via(managers[1]), 'GET', `/apis/drover.dev/v1alpha1/clusters/${NS}`);
  out.set(`clusters/${NS}`, c.body.metadata.uid);
  return out;
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 3, name: 'ha' });
  const a = await startManager({ extraArgs: managerArgs(), env: { DROVER_LOG_LEVEL: 'info' } });
  managers = [a];
  token = a.token;
  await eventually('manager A to lead', async () => (await leaderOf(a)).isLeader, 15_000, 50);
  managers.push(await startManager({ extraArgs: managerArgs(), env: { DROVER_LOG_LEVEL: 'info' } }));
  lb = await startTcpBalancer(managers.map(portOf));
  config = join(tempDir('drover-ha-cli-'), 'config');
  writeCliConfig(config, mergeContext(emptyCliConfig(), 'ha', { server: lb.url, token, namespace: NS }, { makeCurrent: true }));

  const cluster = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 10s}
  rebalancePolicy: {enabled: false}
`);
  expect(cluster.stderr).toBe('');
  expect(cluster.code).toBe(0);
  const tok = await run(['token', 'create', '--join', '--cluster', NS]);
  expect(tok.code).toBe(0);
  simulate('node-a', tok.stdout.trim());
  simulate('node-b', tok.stdout.trim());
  await eventually('2 Ready nodes', async () => {
    const items = (await api(via(lb), 'GET', `${BASE}/nodes`)).body.items as any[];
    return items.filter((n) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length === 2;
  }, 30_000, 200);
  const hosts = NODES.flatMap((node) => Array.from({ length: HOSTS_PER_NODE }, (_, k) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: host-${node}-${k}, namespace: ${NS}, labels: {tier: agents}}
spec:
  nodeName: ${node}
  resources: {requests: {cpu: 100m, memory: 64Mi}}
  agentHost: {capabilities: [compute], capacity: {agents: ${SLOTS_PER_HOST}, cpu: "8", memory: 8Gi}}
`)).join('---\n');
  const applied = await run(['apply', '-f', '-'], hosts);
  expect(applied.code).toBe(0);
  await eventually('20 agent hosts Running', async () => {
    const items = (await api(via(lb), 'GET', `${BASE}/containers`)).body.items as any[];
    return items.filter((c) => c.status?.phase === 'Running').length === NODES.length * HOSTS_PER_NODE;
  }, 60_000, 250);
}, 150_000);

afterAll(async () => {
  await lb?.close();
  await cleanup();
  await etcd?.stop();
});

describe('two managers on a three-member etcd', () => {
  it('both serve the API; one leads', async () => {
    const [a, b] = await Promise.all(managers.map(leaderOf));
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(b.leader?.url).toBe(managers[0].url);
    const r = await api(via(managers[1]), 'GET', `${BASE}/containers`);
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(NODES.length * HOSTS_PER_NODE);
    const status = await run(['status']);
    expect(status.stdout).toMatch(new RegExp(`^ {2}leader\\s+\\S+ at ${managers[0].url.replace(/[.]/g, '\\.')}`, 'm'));
  });

  it('kill -9 of the leader mid-rollout: the standby leads within TTL + 2 s and the 1,000 agents roll out once each', async () => {
    const [a, b] = managers;
    const watch = watchAgents(b);
    const t0 = Date.now();
    const applied = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: trading, namespace: ${NS}}
spec:
  agentType: trading
  replicas: ${REPLICAS}
  template:
    command: [node, agents/trading.js]
    resources: {requests: {cpu: 5m, memory: 4Mi}}
  placement: {strategy: LeastLoaded, containerSelector: {matchLabels: {tier: agents}}}
`);
    expect(applied.code).toBe(0);
    // the middle of the rollout: some agents exist, most do not yet run
    await eventually('a third of the agents created', async () => watch.added.size >= REPLICAS / 3, 90_000, 20);
    const before = await snapshot();
    const runningAtKill = (await api(via(b), 'GET', `${BASE}/agents`)).body.items.filter((x: any) => x.status?.phase === 'Running').length;
    expect((await leaderOf(a)).isLeader).toBe(true);
    await a.kill9();
    const killedAt = Date.now();

    const became = await eventually('manager B to lead', async () => logLines(b, 'became leader')[0], (TTL_S + 10) * 1000, 20);
    const takeoverMs = Date.parse(became.timestamp) - killedAt;
    const started = await eventually('B to start its controllers', async () => logLines(b, 'leading: controllers started')[0], 20_000, 20);
    const firstCreate = await eventually('a new agent created by B', async () => watch.addedAt.find((t) => t > killedAt), 30_000, 20);
    console.log(`ha: killed the leader at ${((killedAt - t0) / 1000).toFixed(1)} s into the rollout (${watch.added.size} agents created, ${runningAtKill} Running); `
      + `B leads after ${(takeoverMs / 1000).toFixed(2)} s, controllers started after ${((Date.parse(started.timestamp) - killedAt) / 1000).toFixed(2)} s, `
      + `first agent created by B after ${((firstCreate - killedAt) / 1000).toFixed(2)} s (lease TTL ${TTL_S} s)`);
    expect(takeoverMs).toBeLessThanOrEqual((TTL_S + 2) * 1000);
    expect((await leaderOf(b)).isLeader).toBe(true);

    const done = await eventually(`${REPLICAS} agents Running`, async () => {
      const items = (await api(via(b), 'GET', `${BASE}/agents`)).body.items as any[];
      return items.filter((x) => x.status?.phase === 'Running').length >= REPLICAS && items;
    }, 150_000, 1000);
    console.log(`ha: ${REPLICAS} agents Running ${((Date.now() - t0) / 1000).toFixed(1)} s after the apply`);
    await sleep(2000); // anything a duplicate would cause (a second create, a delete of the surplus) shows by now

    // exactly REPLICAS agents, unique, owned by the deployment, each bound to one host that runs it
    const agents = (await api(via(b), 'GET', `${BASE}/agents`)).body.items as any[];
    const deployment = (await api(via(b), 'GET', `${BASE}/agentdeployments/trading`)).body;
    expect(agents).toHaveLength(REPLICAS);
    expect(new Set(agents.map((x) => x.metadata.name)).size).toBe(REPLICAS);
    expect(agents.every((x) => x.metadata.ownerReferences?.[0]?.uid === deployment.metadata.uid)).toBe(true);
    expect(agents.every((x) => x.spec.containerName && NODES.includes(x.status?.nodeName))).toBe(true);
    expect(done.length).toBe(REPLICAS);
    // each created exactly once, none deleted: no duplicate was made and then cleaned up
    expect(watch.error()).toBeUndefined();
    expect(watch.deleted).toEqual([]);
    expect(watch.added.size).toBe(REPLICAS);
    expect([...watch.added.values()].every((n) => n === 1)).toBe(true);
    // the nodes run exactly REPLICAS agents between them: none runs twice
    await eventually('the nodes to report 1,000 agents', async () => {
      const nodes = (await api(via(b), 'GET', `${BASE}/nodes`)).body.items as any[];
      return nodes.reduce((s, n) => s + Number(n.status?.usage?.agents ?? 0), 0) === REPLICAS;
    }, 20_000, 500);
    await eventually('the deployment to report 1,000 ready', async () => {
      const d = (await api(via(b), 'GET', `${BASE}/agentdeployments/trading`)).body;
      return d.status?.readyReplicas === REPLICAS || d.status?.availableReplicas === REPLICAS;
    }, 20_000, 500);
    // no lost object: everything that existed at the kill is still there, the same object (uid)
    const after = await snapshot();
    const lost = [...before].filter(([k, uid]) => after.get(k) !== uid).map(([k]) => k);
    expect(lost).toEqual([]);
    watch.stop();

    // the killed manager comes back as the standby
    managers[0] = await startManager({ dataDir: a.dataDir, port: portOf(a), extraArgs: managerArgs(), env: { DROVER_LOG_LEVEL: 'info' } });
    await sleep(1000);
    expect((await leaderOf(managers[0])).isLeader).toBe(false);
    expect((await leaderOf(managers[0])).leader?.url).toBe(b.url);
  }, 240_000);

  it('kill -9 of one etcd member (the raft leader) while the CLI applies and reads: no command fails', async () => {
    const failures: string[] = [];
    const started: Array<{ at: number; ms: number }> = []; // every command: when it started, how long it took
    let applies = 0;
    let killedAt = Infinity;
    const after = () => started.filter((c) => c.at >= killedAt).length;
    // until 8 s after the kill, and at least 6 commands started after it (a busy machine runs them slowly)
    const more = () => Date.now() < killedAt + 8000 || after() < 6;
    const timed = async (args: string[], input?: string) => {
      const at = Date.now();
      const r = await run(args, input);
      started.push({ at, ms: Date.now() - at });
      return r;
    };
    const loopApply = (async () => {
      for (let i = 0; more(); i++) {
        const r = await timed(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: cli-${i}, namespace: ${NS}}
spec:
  agentType: cli
  replicas: 0
  template: {command: [node, agents/cli.js]}
`);
        applies++;
        if (r.code !== 0) failures.push(`apply cli-${i}: ${r.stderr}`);
      }
    })();
    const loopGet = (async () => {
      while (more()) {
        const r = await timed(['get', 'agentdeployments']);
        if (r.code !== 0 || !r.stdout.includes('trading')) failures.push(`get: ${r.code} ${r.stderr}`);
      }
    })();
    await sleep(2000);
    const leaderBefore = (await Promise.all(managers.map(leaderOf))).findIndex((l) => l.isLeader);
    const member = await etcdLeaderIndex(etcd);
    await etcd.stopMember(member, { kill: true });
    killedAt = Date.now();
    await Promise.all([loopApply, loopGet]);
    const slowest = Math.max(...started.filter((c) => c.at + c.ms >= killedAt).map((c) => c.ms));
    const leaderAfter = (await Promise.all(managers.map(leaderOf))).findIndex((l) => l.isLeader);
    console.log(`ha: killed etcd member m${member} (the raft leader); the CLI ran ${started.length} commands (${applies} applies), `
      + `${after()} started after the kill, the slowest around it took ${(slowest / 1000).toFixed(2)} s; `
      + `leading manager before ${'AB'[leaderBefore] ?? '?'}, after ${'AB'[leaderAfter] ?? '?'}`);
    expect(failures).toEqual([]);
    expect(after()).toBeGreaterThanOrEqual(6);
    // every applied object is stored
    const names = new Set(((await api(via(lb), 'GET', `${BASE}/agentdeployments`)).body.items as any[]).map((d) => d.metadata.name));
    for (let i = 0; i < applies; i++) expect(names.has(`cli-${i}`)).toBe(true);
    // both managers still serve, one leads
    const states = await Promise.all(managers.map(leaderOf));
    expect(states.filter((s) => s.isLeader)).toHaveLength(1);
    // the balancer spread the CLI's and the nodes' connections over both managers
    expect([...lb.counts().values()].every((n) => n > 0)).toBe(true);
    await etcd.startMember(member);
  }, 90_000);

  it('a paused leader is replaced, and stops its controllers the moment it runs again', async () => {
    // b has led since A was killed, unless the etcd member kill above moved the lease (TTL 3 s)
    const states = await Promise.all(managers.map(leaderOf));
    expect(states.filter((l) => l.isLeader)).toHaveLength(1);
    const [b, a] = states[0].isLeader ? managers : [managers[1], managers[0]]; // b: the leader we pause, a: the standby
    process.kill(b.pid, 'SIGSTOP');
    const pausedAt = Date.now();
    try {
      await eventually('the standby to lead', async () => (await leaderOf(a)).isLeader, (TTL_S + 5) * 1000, 50);
      expect(Date.now() - pausedAt).toBeLessThanOrEqual((TTL_S + 2) * 1000);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    const resumedAt = Date.now();
    const lost = await eventually('the paused leader to step down', async () => logLines(b, 'lost leadership').find((l) => Date.parse(l.timestamp) >= pausedAt), 5000, 20);
    expect(Date.parse(lost.timestamp) - resumedAt).toBeLessThan(1000);
    await eventually('the paused leader to stop its controllers', async () => logLines(b, 'controllers stopped').find((l) => Date.parse(l.timestamp) >= pausedAt && String(l.reason).startsWith('deposed')), 10_000, 20);
    const seenByB = await leaderOf(b);
    expect(seenByB.isLeader).toBe(false);
    expect(seenByB.leader?.url).toBe(a.url);
    // the new leader's controllers work: a new deployment gets its agents
    const r = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: after-pause, namespace: ${NS}}
spec:
  agentType: after-pause
  replicas: 2
  template: {command: [node, agents/x.js], resources: {requests: {cpu: 5m, memory: 4Mi}}}
  placement: {strategy: LeastLoaded, containerSelector: {matchLabels: {tier: agents}}}
`);
    expect(r.code).toBe(0);
    await eventually('2 agents of after-pause Running', async () => {
      const items = (await api(via(a), 'GET', `${BASE}/agents`)).body.items as any[];
      return items.filter((x) => x.spec?.agentType === 'after-pause' && x.status?.phase === 'Running').length === 2;
    }, 30_000, 250);
  }, 60_000);
});

/** Index of the member that is etcd's raft leader (v3 JSON gateway: /v3/maintenance/status). */
async function etcdLeaderIndex(c: EtcdCluster): Promise<number> {
  const ids: string[] = [];
  let leader = '';
  for (const url of c.endpoints) {
    const r = (await (await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { header: { member_id: string }; leader: string };
    ids.push(r.header.member_id);
    leader = r.leader;
  }
  const i = ids.indexOf(leader);
  if (i < 0) throw new Error(`no member is the raft leader ${leader} (${ids.join(', ')})`);
  return i;
}

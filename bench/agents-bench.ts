// Agent scheduling and failover benchmark on simulated nodes (`drover simulate nodes`: the real node agent
// code over a runtime that only records), against a real manager:
//  1. time from `apply` of a REPLICAS-replica AgentDeployment to all its Agents Running,
//  2. failover: kill -9 of one node (run in a simulate process of its own) → all its agents Running
//     elsewhere, and how much of that is the deliberate fencing wait (last heartbeat + grace + agent
//     stop grace + safety margin, before which the manager must not re-place them).
// Usage: node bench/agents-bench.ts [--nodes 50] [--containers-per-node 4] [--agents-per-container 10] [--replicas 1000] [--timeout 300]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchManager, machine, sleep, REPO, type Bench } from './bench-util.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const NODES = Number(args.get('nodes') ?? 50);
const PER_NODE = Number(args.get('containers-per-node') ?? 4);
const PER_CONTAINER = Number(args.get('agents-per-container') ?? 10);
const REPLICAS = Number(args.get('replicas') ?? 1000);
const TIMEOUT_MS = Number(args.get('timeout') ?? 300) * 1000;
const NS = 'bench';
const HEARTBEAT_S = 1;
const GRACE_S = 5;
/** The manager waits this long past lastHeartbeat + grace (agent stop grace 10 s + 2 s margin) before moving agents. */
const FENCING_MARGIN_S = 12;
const LOST = 'lost-0';
const base = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;

const b: Bench = await startBenchManager();
await b.call('POST', '/apis/drover.dev/v1alpha1/clusters', {
  apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: NS },
  spec: { failurePolicy: { heartbeatInterval: `${HEARTBEAT_S}s`, gracePeriod: `${GRACE_S}s` } },
});
const { token: joinToken } = await b.call('POST', `/api/v1/clusters/${NS}/join-tokens`, { description: 'agents bench' });

function simulate(prefix: string, count: number): ChildProcess {
  const p = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'simulate', 'nodes', '--count', String(count),
    '--prefix', prefix, '--server', b.url, '--join-token', joinToken, '--data-dir', mkdtempSync(join(tmpdir(), 'drover-bench-sim-')),
    '--containers-per-node', String(PER_NODE + 10), '--agents-per-node', String(PER_NODE * PER_CONTAINER + 50)], { stdio: ['ignore', 'ignore', 'inherit'] });
  b.spawned.push(p);
  return p;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, everyMs = 500): Promise<T | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < TIMEOUT_MS) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  console.error(`timed out after ${TIMEOUT_MS / 1000} s waiting for ${what}`);
  return undefined;
}

const readyOf = (n: any) => n.status?.conditions?.find((c: any) => c.type === 'Ready')?.status;
const listAgents = async (): Promise<any[]> => (await b.call('GET', `${base}/agents`)).items;
const running = (a: any) => a.status?.phase === 'Running';

// --- simulated nodes: NODES-1 in one process, the node we will lose in its own ---------------------
simulate('sim', NODES - 1);
const lostProc = simulate('lost', 1);
const nodeNames = await until(`${NODES} Ready nodes`, async () => {
  const items: any[] = (await b.call('GET', `${base}/nodes`)).items;
  return items.filter((n) => readyOf(n) === 'True').length >= NODES ? items.map((n) => n.metadata.name as string) : undefined;
});
if (!nodeNames) process.exit(1);

// --- agent-host containers, pinned PER_NODE to each node ---------------------------------------------
const hosts = nodeNames.flatMap((node) => Array.from({ length: PER_NODE }, (_, k) => ({ node, name: `host-${node}-${k}` })));
for (let i = 0; i < hosts.length; i += 50) {
  await Promise.all(hosts.slice(i, i + 50).map((h) => b.call('POST', `${base}/containers`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: h.name, namespace: NS, labels: { tier: 'agents' } },
    spec: { nodeName: h.node, resources: { requests: { cpu: '100m', memory: '64Mi' } }, agentHost: { capabilities: ['compute'], capacity: { agents: PER_CONTAINER, cpu: '4', memory: '4Gi' } } },
  })));
}
const hostsUp = await until(`${hosts.length} agent-host containers Running`, async () => {
  const items: any[] = (await b.call('GET', `${base}/containers`)).items;
  return items.filter(running).length >= hosts.length ? true : undefined;
});
if (!hostsUp) process.exit(1);

// --- 1. apply → all Running -------------------------------------------------------------------------
const manifest = `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: trading, namespace: ${NS}}
spec:
  agentType: trading
  replicas: ${REPLICAS}
  template:
    command: [node, agents/trading.js]
    config: {strategy: momentum}
    resources: {requests: {cpu: 10m, memory: 16Mi}}
  placement: {strategy: LeastLoaded}
`;
const a0 = performance.now();
const apply = spawn(join(REPO, 'bin/drover'), ['apply', '-f', '-', '--server', b.url, '--token', b.token], { stdio: ['pipe', 'ignore', 'inherit'] });
apply.stdin.end(manifest);
await new Promise((r) => apply.on('exit', r));
const applied = (performance.now() - a0) / 1000;
let lastCount = 0;
let lastProgress = a0;
const allUp = await until(`${REPLICAS} agents Running`, async () => {
  const items = await listAgents();
  const count = items.filter(running).length;
  // Progress on stderr every ~10 s, so a slow run shows where it stands.
  if (performance.now() - lastProgress >= 10_000) {
    lastProgress = performance.now();
    console.error(`  ${((performance.now() - a0) / 1000).toFixed(0)} s: ${items.length} agents, ${count} Running`);
  }
  lastCount = count;
  return lastCount >= REPLICAS ? items : undefined;
});
const applySecs = (performance.now() - a0) / 1000;

// --- 2. failover of one node ------------------------------------------------------------------------
let failover = 'skipped (the deployment never became fully Running)';
if (allUp) {
  const onLost = new Set(allUp.filter((a) => a.status?.nodeName === LOST).map((a) => a.metadata.name as string));
  lostProc.kill('SIGKILL');
  const k0 = performance.now();
  const killedAt = Date.now();
  await new Promise((r) => lostProc.on('exit', r));
  const lastHb = Date.parse((await b.call('GET', `${base}/nodes/${LOST}`)).status?.lastHeartbeatTime ?? new Date(killedAt).toISOString());
  const fencingWait = Math.max(0, (lastHb + (GRACE_S + FENCING_MARGIN_S) * 1000 - killedAt) / 1000);
  let notReadySecs: number | undefined;
  const moved = await until(`the ${onLost.size} agents of ${LOST} Running elsewhere`, async () => {
    if (notReadySecs === undefined && readyOf(await b.call('GET', `${base}/nodes/${LOST}`)) !== 'True') notReadySecs = (performance.now() - k0) / 1000;
    const items = await listAgents();
    // The same Agents move (same names); a replacement-style implementation would show up as REPLICAS Running elsewhere.
    const elsewhere = items.filter((a) => running(a) && a.status?.nodeName !== LOST);
    const sameMoved = [...onLost].every((n) => elsewhere.some((a) => a.metadata.name === n));
    return sameMoved && elsewhere.length >= REPLICAS ? elsewhere : undefined;
  }, 250);
  const total = (performance.now() - k0) / 1000;
  failover = moved
    ? `${onLost.size} agents of ${LOST} Running elsewhere ${total.toFixed(2)} s after kill -9 (node NotReady after ${notReadySecs?.toFixed(2) ?? '?'} s); `
      + `of that ${fencingWait.toFixed(2)} s is the deliberate fencing wait (last heartbeat + ${GRACE_S} s grace + ${FENCING_MARGIN_S} s), `
      + `${Math.max(0, total - fencingWait).toFixed(2)} s detection, rescheduling and start-up`
    : `${onLost.size} agents of ${LOST} not all Running elsewhere within ${TIMEOUT_MS / 1000} s`;
}

console.log(`machine: ${machine()}`);
console.log(`simulated nodes: ${NODES} x ${PER_NODE} agent-host containers x ${PER_CONTAINER} agents (heartbeat ${HEARTBEAT_S} s, grace ${GRACE_S} s)`);
console.log(allUp
  ? `apply of a ${REPLICAS}-replica AgentDeployment → all Running on simulated nodes: ${applySecs.toFixed(2)} s (apply itself ${applied.toFixed(2)} s) = ${(REPLICAS / applySecs).toFixed(0)} agents/s`
  : `apply of a ${REPLICAS}-replica AgentDeployment: only ${lastCount}/${REPLICAS} Running after ${TIMEOUT_MS / 1000} s`);
console.log(`failover: ${failover}`);
b.stop();
if (process.env.DROVER_BENCH_PROF) await sleep(5000); // let the profiled manager write its profile
process.exit(allUp ? 0 : 1);

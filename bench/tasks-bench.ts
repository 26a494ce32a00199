// Task dispatch and container start-up benchmark, through the real API:
//  1. tasks dispatched per second with 50 simulated node agents (each joins, heartbeats, watches its
//     tasks and claims Assigned → Running → Completed at once, exactly as `drover agent` does),
//  2. time from `apply` of 100 process containers to all of them Running on one real node agent.
// Usage: node bench/tasks-bench.ts [--agents 50] [--tasks 1000] [--containers 100]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchManager, machine, sleep, REPO, type Bench } from './bench-util.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const AGENTS = Number(args.get('agents') ?? 50);
const TASKS = Number(args.get('tasks') ?? 1000);
const CONTAINERS = Number(args.get('containers') ?? 100);
const NS = 'bench';
const base = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;

const b: Bench = await startBenchManager();
await b.call('POST', '/apis/drover.dev/v1alpha1/clusters', {
  apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: NS },
  spec: { failurePolicy: { heartbeatInterval: '2s', gracePeriod: '10s' } },
});
const { token: joinToken } = await b.call('POST', `/api/v1/clusters/${NS}/join-tokens`, { description: 'bench' });

// --- 1. simulated agents ---------------------------------------------------------------------
const now = () => new Date().toISOString();
let completed = 0;
let stopAgents = false;
async function simulatedAgent(i: number) {
  const nodeName = `sim-${String(i).padStart(2, '0')}`;
  const joined = (await (await fetch(`${b.url}/api/v1/join`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: joinToken, nodeName }),
  })).json()) as { credential: string };
  const cred = joined.credential;
  await b.call('POST', `${base}/nodes`, { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: nodeName, namespace: NS }, spec: {} }, cred);
  const heartbeat = () => b.call('PATCH', `${base}/nodes/${nodeName}/status`, {
    status: {
      lastHeartbeatTime: now(), capacity: { cpu: '4', memory: '8Gi', containers: 1000, agents: 1000 }, allocatable: { cpu: '4', memory: '8Gi', containers: 1000, agents: 1000 },
      runtime: { type: 'process', version: 'sim' }, conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', lastTransitionTime: now() }],
    },
  }, cred, 'application/merge-patch+json');
  await heartbeat();
  const hb = setInterval(() => void heartbeat().catch(() => undefined), 2000);
  const sel = `fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`;
  while (!stopAgents) {
    const list = await b.call('GET', `${base}/tasks?${sel}`, undefined, cred);
    for (const t of list.items) {
      if (t.status?.state !== 'Assigned') continue;
      try {
        t.status = { ...t.status, state: 'Running', attempts: (t.status.attempts ?? 0) + 1, startedAt: now(), leaseHolder: nodeName, leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() };
        const running = await b.call('PUT', `${base}/tasks/${t.metadata.name}/status`, t, cred);
        running.status = { ...running.status, state: 'Completed', completedAt: now() };
        await b.call('PUT', `${base}/tasks/${t.metadata.name}/status`, running, cred);
        completed++;
      } catch {
        // 409: the dispatcher or another writer changed it; the next poll sees the new state
      }
    }
    // wake on the next change (or after 1 s), like the agent's watch-driven sync
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 1000);
    try {
      const r = await fetch(`${b.url}${base}/tasks?watch=true&${sel}&resourceVersion=${list.metadata.resourceVersion}`, { headers: { authorization: `Bearer ${cred}` }, signal: ac.signal });
      const reader = r.body!.getReader();
      await reader.read();
      ac.abort();
    } catch {
      // timeout: poll again
    } finally {
      clearTimeout(timer);
    }
  }
  clearInterval(hb);
}
const sims = Array.from({ length: AGENTS }, (_, i) => simulatedAgent(i));
await sleep(1000);
const t0 = performance.now();
for (let i = 0; i < TASKS; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, TASKS - i) }, (_, k) => {
    const n = i + k;
    return b.call('POST', `${base}/tasks`, {
      apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name: `t-${n}`, namespace: NS },
      spec: { type: 'start', target: { kind: 'Container', name: `c-${n}` }, nodeName: `sim-${String(n % AGENTS).padStart(2, '0')}` },
    });
  }));
}
while (completed < TASKS && performance.now() - t0 < 300_000) await sleep(50);
const taskSecs = (performance.now() - t0) / 1000;
stopAgents = true;
await Promise.allSettled(sims);

// --- 2. 100 process containers on a real node agent -----------------------------------------
const agentDir = mkdtempSync(join(tmpdir(), 'drover-bench-agent-'));
const agent = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'agent', '--server', b.url, '--join-token', joinToken,
  '--name', 'real-1', '--runtime', 'process', '--data-dir', agentDir, '--listen', '127.0.0.1:0', '--capacity-containers', String(CONTAINERS + 10)], {
  stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DROVER_LOG_LEVEL: 'warn' },
});
b.spawned.push(agent);
for (;;) {
  const n = await b.call('GET', `${base}/nodes/real-1`).catch(() => undefined);
  if (n?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) break;
  await sleep(100);
}
// The simulated nodes are gone (no heartbeats) but may still look Ready: cordon them so everything lands on real-1.
for (let i = 0; i < AGENTS; i++) {
  await b.call('PATCH', `${base}/nodes/sim-${String(i).padStart(2, '0')}`, { spec: { unschedulable: true } }, undefined, 'application/merge-patch+json');
}
const manifest = Array.from({ length: CONTAINERS }, (_, i) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: proc-${i}, namespace: ${NS}}
spec:
  command: [/bin/sh, -c, "exec sleep 3600"]
  resources: {requests: {cpu: 10m, memory: 8Mi}}
  terminationGracePeriodSeconds: 1
`).join('---\n');
const c0 = performance.now();
const apply = spawn(join(REPO, 'bin/drover'), ['apply', '-f', '-', '--server', b.url, '--token', b.token], { stdio: ['pipe', 'ignore', 'inherit'] });
apply.stdin.end(manifest);
await new Promise((r) => apply.on('exit', r));
const applied = (performance.now() - c0) / 1000;
let running = 0;
while (performance.now() - c0 < 300_000) {
  const list = await b.call('GET', `${base}/containers`);
  running = list.items.filter((c: any) => c.status?.phase === 'Running').length;
  if (running >= CONTAINERS) break;
  await sleep(100);
}
const allRunning = (performance.now() - c0) / 1000;

console.log(`machine: ${machine()}`);
console.log(`tasks dispatched through the API with ${AGENTS} simulated agents: ${completed}/${TASKS} completed in ${taskSecs.toFixed(2)} s = ${(completed / taskSecs).toFixed(0)} tasks/s (create → Assigned → Running → Completed)`);
console.log(`apply of ${CONTAINERS} process containers → all Running on one node: ${running}/${CONTAINERS} in ${allRunning.toFixed(2)} s (apply itself ${applied.toFixed(2)} s)`);
b.stop();
if (process.env.DROVER_BENCH_PROF) await sleep(3000);
process.exit(0);

// `drover simulate nodes`: a real manager and five hollow nodes in one child process. The nodes join,
// heartbeat and run Containers through the recording runtime (nothing is executed); kill -9 loses them all.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, drover, api, eventually, tempDir, cleanup, REPO, type ManagerProcess } from '../helpers/processes.ts';

const NS = 'simtest';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
const GRACE_S = 3;
const NODES = ['sim-0', 'sim-1', 'sim-2', 'sim-3', 'sim-4'];

let m: ManagerProcess;
let sim: ChildProcess;
let simOut = '';
let simExited: Promise<number | null>;
const marker = join(tempDir('drover-sim-marker-'), 'ran');

const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const ready = (n: any) => n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
const nodes = async () => (await api(m, 'GET', `${BASE}/nodes`)).body.items as any[];

beforeAll(async () => {
  m = await startManager({ env: { DROVER_LOG_LEVEL: 'warn' } });
  const cluster = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: ${GRACE_S}s}
`);
  expect(cluster.code).toBe(0);
  const tok = await run(['token', 'create', '--join', '--cluster', NS]);
  expect(tok.code).toBe(0);
  sim = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'simulate', 'nodes', '--count', '5',
    '--server', m.url, '--join-token', tok.stdout.trim(), '--data-dir', tempDir('drover-sim-')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  sim.stdout!.on('data', (d) => (simOut += d));
  sim.stderr!.on('data', (d) => (simOut += d));
  simExited = new Promise((done) => sim.on('exit', (code) => done(code)));
  await eventually('the simulator to start its nodes', async () => simOut.includes('5 simulated nodes running'), 30_000);
}, 60_000);

afterAll(async () => {
  if (sim.exitCode === null && sim.signalCode === null) sim.kill('SIGKILL');
  await cleanup();
});

describe('drover simulate nodes', () => {
  it('registers five Nodes that become Ready on the recording runtime', async () => {
    const all = await eventually('5 Ready nodes', async () => {
      const items = await nodes();
      return items.filter((n) => ready(n) === 'True').length === 5 && items;
    }, 20_000);
    expect(all.map((n) => n.metadata.name).sort()).toEqual(NODES);
    expect(all.every((n) => n.status.runtime.version === 'recording-1' && n.status.capacity.cpu === '16')).toBe(true);
    const r = await run(['get', 'nodes', '-n', NS]);
    for (const n of NODES) expect(r.stdout).toMatch(new RegExp(`^${n}\\s+True\\s+process\\b`, 'm'));
  }, 30_000);

  it('runs ten applied Containers across the nodes without starting any process', async () => {
    const manifest = Array.from({ length: 10 }, (_, i) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: c${i}, namespace: ${NS}}
spec:
  command: [/bin/sh, -c, "touch ${marker}; exec sleep 3600"]
  resources: {requests: {cpu: 100m, memory: 64Mi}}
  agentHost: {capabilities: [gpu_compute], capacity: {agents: 10}}
`).join('---\n');
    expect((await run(['apply', '-f', '-'], manifest)).code).toBe(0);
    const running = await eventually('10 Running containers', async () => {
      const items = (await api(m, 'GET', `${BASE}/containers`)).body.items as any[];
      return items.filter((c) => c.status?.phase === 'Running').length === 10 && items;
    }, 60_000);
    expect(running.every((c) => /^sim:\/\/\d+$/.test(c.status.containerID) && NODES.includes(c.status.nodeName))).toBe(true);
    expect(new Set(running.map((c) => c.status.nodeName)).size).toBeGreaterThan(1); // placement spreads them
    expect(existsSync(marker)).toBe(false); // recorded, never executed
    // The nodes report what they host: usage counts the running containers' requests.
    const used = await eventually('node usage to include the containers', async () => {
      const items = await nodes();
      const sum = items.reduce((s, n) => s + Number(n.status?.usage?.containers ?? 0), 0);
      return sum === 10 && items;
    }, 20_000);
    expect(used.length).toBe(5);
  }, 90_000);

  it('kill -9 of the simulator makes every node NotReady after the grace period', async () => {
    sim.kill('SIGKILL');
    await simExited;
    const killedAt = Date.now();
    await eventually('all 5 nodes NotReady', async () => (await nodes()).every((n) => ready(n) !== 'True'), 30_000, 200);
    const elapsed = (Date.now() - killedAt) / 1000;
    // Not before the grace period (measured from the last heartbeat, at most one interval before the kill).
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_S - 1);
    const r = await run(['get', 'nodes', '-n', NS]);
    for (const n of NODES) expect(r.stdout).not.toMatch(new RegExp(`^${n}\\s+True\\b`, 'm'));
  }, 60_000);
});

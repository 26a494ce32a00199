// Issue 3 end to end: a real manager, two real node agents (process runtime) each behind a loopback
// proxy the test can cut, and real processes as containers.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  startManager, startNodeAgent, drover, api, freePort, eventually, pidAlive, sleep, cleanup,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const NS = 'e2e';
const HEARTBEAT_S = 1;
const GRACE_S = 6;
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;

let m: ManagerProcess;
let managerPort: number;
let joinToken: string;
const proxies: Record<string, TcpProxy> = {};
const agents: Record<string, AgentProcess> = {};
const ports: Record<string, number> = {};

const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const getObj = async (plural: string, name: string) => (await api(m, 'GET', `${BASE}/${plural}/${name}`)).body;
const container = (name: string) => getObj('containers', name);
const pidOf = (c: any): number => Number(/^process:\/\/(\d+)$/.exec(c.status?.containerID ?? '')?.[1] ?? 0);
const condition = (o: any, type: string) => o.status?.conditions?.find((c: { type: string }) => c.type === type);
const tasksOf = async (name: string) =>
  (await api(m, 'GET', `${BASE}/tasks?labelSelector=${encodeURIComponent(`drover.dev/container=${name}`)}`)).body.items as any[];

async function startAgentBehindProxy(name: string, zone: string) {
  proxies[name] ??= await startTcpProxy(managerPort);
  agents[name] = await startNodeAgent(m, {
    name, namespace: NS, server: proxies[name].url, joinToken, labels: `zone=${zone}`,
    extraArgs: ['--task-lease', '3s'],
  });
}

function nodeScript(port: number, ignoreTerm = false): string {
  return `${ignoreTerm ? "process.on('SIGTERM',()=>{});" : ''}require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`;
}

beforeAll(async () => {
  managerPort = await freePort();
  m = await startManager({ port: managerPort });
  for (const n of ['db', 'api', 'web']) ports[n] = await freePort();
  const cluster = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: ${HEARTBEAT_S}s, gracePeriod: ${GRACE_S}s}
`);
  expect(cluster.code).toBe(0);
  const tok = await run(['token', 'create', '--join', '--cluster', NS]);
  expect(tok.code).toBe(0);
  joinToken = tok.stdout.trim();
  expect(joinToken).toMatch(/^drvj_/);
  await startAgentBehindProxy('node-a', 'a');
  await startAgentBehindProxy('node-b', 'b');
}, 90_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.stop().catch(() => undefined);
  for (const p of Object.values(proxies)) await p.close();
  await cleanup();
});

describe('nodes join and report', () => {
  it('both nodes are Ready with capacity, runtime and a fresh heartbeat', async () => {
    const r = await run(['get', 'nodes', '-n', NS]);
    expect(r.stdout).toMatch(/^node-a\s+True\s+process\b/m);
    expect(r.stdout).toMatch(/^node-b\s+True\s+process\b/m);
    const node = await getObj('nodes', 'node-a');
    expect(Number(node.status.capacity.containers)).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(node.status.lastHeartbeatTime)).toBeLessThan(5_000);
  });
});

describe('a four-container stack with dependsOn and health checks', () => {
  it('starts in dependency order and reaches Running', async () => {
    const r = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: db, namespace: ${NS}}
spec:
  command: [node, -e, "${nodeScript(ports.db)}"]
  healthCheck: {tcp: {port: ${ports.db}}, interval: 500ms, timeout: 1s, retries: 2}
  terminationGracePeriodSeconds: 2
---
apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: api, namespace: ${NS}}
spec:
  command: [node, -e, "${nodeScript(ports.api)}"]
  dependsOn: [{name: db, condition: Healthy}]
  healthCheck: {http: {path: /health, port: ${ports.api}}, interval: 500ms, timeout: 1s, retries: 2}
  terminationGracePeriodSeconds: 2
---
apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: web, namespace: ${NS}}
spec:
  command: [node, -e, "${nodeScript(ports.web, true)}"]
  dependsOn: [{name: api, condition: Healthy}]
  healthCheck: {http: {path: /, port: ${ports.web}}, interval: 500ms, timeout: 1s, retries: 2}
  terminationGracePeriodSeconds: 2
---
apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: worker, namespace: ${NS}}
spec:
  command: [node, -e, "setInterval(() => {}, 1e9)"]
  dependsOn: [{name: db, condition: Started}]
  terminationGracePeriodSeconds: 2
`);
    expect(r.code).toBe(0);
    for (const name of ['db', 'api', 'web', 'worker']) {
      await eventually(`${name} Running`, async () => (await container(name)).status?.phase === 'Running', 60_000);
    }
    const c = Object.fromEntries(await Promise.all(['db', 'api', 'web', 'worker'].map(async (n) => [n, await container(n)])));
    const deployStarted = async (n: string) => {
      const deploy = (await tasksOf(n)).find((t) => t.spec.type === 'deploy');
      expect(deploy?.status?.state).toBe('Completed');
      return Date.parse(deploy.status.startedAt);
    };
    const since = (n: string, type: string) => Date.parse(condition(c[n], type).lastTransitionTime);
    expect(await deployStarted('api')).toBeGreaterThanOrEqual(since('db', 'Healthy'));
    expect(await deployStarted('web')).toBeGreaterThanOrEqual(since('api', 'Healthy'));
    expect(await deployStarted('worker')).toBeGreaterThanOrEqual(since('db', 'Started'));
    for (const n of ['db', 'api', 'web', 'worker']) expect(pidAlive(pidOf(c[n]))).toBe(true);
    // the http health check really talks to the process
    expect(await (await fetch(`http://127.0.0.1:${ports.api}/health`)).text()).toBe('ok');
  }, 90_000);

  it('a container whose process is killed with -9 is restarted and its restart count grows', async () => {
    const before = await container('worker');
    process.kill(pidOf(before), 'SIGKILL');
    const after = await eventually('worker restarted', async () => {
      const c = await container('worker');
      return c.status?.phase === 'Running' && (c.status.restarts ?? 0) > (before.status.restarts ?? 0) && pidOf(c) !== pidOf(before) ? c : undefined;
    }, 30_000);
    expect(pidAlive(pidOf(after))).toBe(true);
    expect(pidAlive(pidOf(before))).toBe(false);
  }, 40_000);
});

describe('task coordination', () => {
  const restartTask = (web: any) => ({
    apiVersion: 'drover.dev/v1alpha1', kind: 'Task',
    metadata: { generateName: 'web-restart-', namespace: NS, labels: { 'drover.dev/container': 'web' } },
    spec: { type: 'restart', target: { kind: 'Container', name: 'web', uid: web.metadata.uid }, nodeName: web.status.nodeName },
  });
  const holding = (t: any) => ['Assigned', 'Running'].includes(t.status?.state);

  it('two identical restarts requested at once: one runs, the other is refused as a duplicate or queued on the conflict — never both', async () => {
    const web = await container('web');
    const [t1, t2] = await Promise.all([api(m, 'POST', `${BASE}/tasks`, restartTask(web)), api(m, 'POST', `${BASE}/tasks`, restartTask(web))]);
    expect([t1.status, t2.status]).toEqual([201, 201]);
    const names = [t1.body.metadata.name, t2.body.metadata.name];
    let bothHolding = false;
    let other: any;
    await eventually('both restart requests settled', async () => {
      const ts = await Promise.all(names.map((n) => getObj('tasks', n)));
      if (ts.every(holding)) bothHolding = true;
      const refused = ts.find((t) => t.status?.state === 'Cancelled' && t.status?.reason === 'Duplicate');
      const queued = ts.find((t) => t.status?.state === 'Queued' && t.status?.waitReason === 'Conflict');
      other ??= refused ?? queued;
      return ts.every((t) => ['Completed', 'Cancelled'].includes(t.status?.state));
    }, 30_000, 50);
    expect(bothHolding).toBe(false);
    // what happened to the second request is visible in its status
    expect(other).toBeDefined();
    expect(other.status.message).toMatch(/duplicate of task|restart of web in progress/);
    const ts = await Promise.all(names.map((n) => getObj('tasks', n)));
    expect(ts.filter((t) => t.status.state === 'Completed').length).toBeGreaterThanOrEqual(1);
    await eventually('web Running again', async () => (await container('web')).status?.phase === 'Running', 20_000);
  }, 60_000);

  it('a restart requested while another runs waits in Queued (Conflict) and runs after it', async () => {
    const web = await container('web');
    const first = (await api(m, 'POST', `${BASE}/tasks`, restartTask(web))).body.metadata.name;
    // web ignores SIGTERM for its 2 s grace period, so the first restart holds the container for a while
    await eventually('first restart Running', async () => (await getObj('tasks', first)).status?.state === 'Running', 15_000, 50);
    const second = (await api(m, 'POST', `${BASE}/tasks`, restartTask(web))).body.metadata.name;
    const waiting = await eventually('second restart waiting on the conflict', async () => {
      const t = await getObj('tasks', second);
      return t.status?.state === 'Queued' && t.status?.waitReason === 'Conflict' ? t : undefined;
    }, 10_000, 50);
    expect(waiting.status.message).toMatch(/restart of web in progress/);
    const listed = await run(['get', 'tasks', '-n', NS]);
    expect(listed.stdout).toMatch(new RegExp(`^${second}\\s+restart\\b.*\\bQueued\\b`, 'm'));
    for (const n of [first, second]) {
      await eventually(`task ${n} Completed`, async () => (await getObj('tasks', n)).status?.state === 'Completed', 30_000);
    }
    // once the last restart says Completed, the Container already reports the new process
    const restarted = await container('web');
    expect(pidOf(restarted)).not.toBe(pidOf(web));
    expect(pidAlive(pidOf(restarted))).toBe(true);
    const [a, b] = await Promise.all([first, second].map((n) => getObj('tasks', n)));
    expect(Date.parse(b.status.startedAt)).toBeGreaterThanOrEqual(Date.parse(a.status.completedAt));
    await eventually('web Running again', async () => (await container('web')).status?.phase === 'Running', 20_000);
  }, 60_000);
});

describe('manager restarts', () => {
  it('restarting the manager while containers run restarts nothing and duplicates nothing', async () => {
    const names = ['db', 'api', 'web', 'worker'];
    // start from settled state: every container Running with the pid it reports alive (a status report may trail the task before)
    const before = await eventually('containers settled before the restart', async () => {
      const cs = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await container(n)])));
      return names.every((n) => cs[n].status?.phase === 'Running' && pidAlive(pidOf(cs[n]))) ? cs : undefined;
    }, 20_000);
    const tasksBefore = (await api(m, 'GET', `${BASE}/tasks`)).body.items.length;
    await m.stop();
    await sleep(500);
    m = await startManager({ dataDir: m.dataDir, port: managerPort });
    await sleep((HEARTBEAT_S * 3 + 1) * 1000);
    for (const node of ['node-a', 'node-b']) {
      const n = await getObj('nodes', node);
      expect(condition(n, 'Ready')?.status).toBe('True');
    }
    for (const n of names) {
      const c = await container(n);
      expect(c.status.phase).toBe('Running');
      expect(pidOf(c)).toBe(pidOf(before[n]));
      expect(c.status.restarts ?? 0).toBe(before[n].status.restarts ?? 0);
      expect(c.status.nodeName).toBe(before[n].status.nodeName);
    }
    expect((await api(m, 'GET', `${BASE}/tasks`)).body.items.length).toBe(tasksBefore);
  }, 60_000);
});

describe('drain', () => {
  it('drover drain moves every unpinned container off the node, each stopped there before it starts elsewhere', async () => {
    const apply = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: nomad, namespace: ${NS}}
spec:
  command: [node, -e, "setInterval(() => {}, 1e9)"]
  terminationGracePeriodSeconds: 1
`);
    expect(apply.code).toBe(0);
    const placed = await eventually('nomad Running', async () => {
      const c = await container('nomad');
      return c.status?.phase === 'Running' && pidOf(c) ? c : undefined;
    }, 30_000);
    const from = placed.status.nodeName as string;
    const to = from === 'node-a' ? 'node-b' : 'node-a';
    const moving = (await api(m, 'GET', `${BASE}/containers`)).body.items.filter((c: any) => c.status?.nodeName === from && !c.spec.nodeName).map((c: any) => c.metadata.name);
    expect(moving).toContain('nomad');

    // every pid each container ever reported; two of them alive at once would be two copies
    const seen = new Map<string, Set<number>>();
    const twice: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const c of (await api(m, 'GET', `${BASE}/containers`)).body.items) {
          const pid = pidOf(c);
          if (!pid) continue;
          const pids = seen.get(c.metadata.name) ?? new Set<number>();
          pids.add(pid);
          seen.set(c.metadata.name, pids);
          if ([...pids].filter(pidAlive).length > 1 && !twice.includes(c.metadata.name)) twice.push(c.metadata.name);
        }
        await sleep(50);
      }
    })();
    let drained;
    try {
      drained = await run(['drain', from, '-n', NS, '--timeout', '60s', '--poll-interval', '200ms']);
      for (const name of moving) {
        await eventually(`${name} Running on ${to}`, async () => {
          const c = await container(name);
          return c.status?.nodeName === to && c.status?.phase === 'Running';
        }, 30_000);
      }
    } finally {
      sampling = false;
      await sampler;
    }
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('evicting container/nomad');
    expect(drained.stdout).toMatch(new RegExp(`${from} drained`));
    expect(twice).toEqual([]);
    expect(pidAlive(pidOf(placed))).toBe(false);
    const events = (await api(m, 'GET', `${BASE}/events?fieldSelector=involvedObject.name%3Dnomad`)).body.items;
    expect(events.map((e: { message: string }) => e.message)).toContain(`moved from node ${from} (drained) to ${to}`);
    expect((await run(['uncordon', from, '-n', NS])).code).toBe(0);
  }, 120_000);
});

describe('failures', () => {
  it('a task whose agent dies mid-run goes back to the queue and is retried when the agent returns', async () => {
    const web = await container('web');
    const node = web.status.nodeName as string;
    const created = await api(m, 'POST', `${BASE}/tasks`, {
      apiVersion: 'drover.dev/v1alpha1', kind: 'Task',
      metadata: { generateName: 'web-restart-', namespace: NS, labels: { 'drover.dev/container': 'web' } },
      spec: { type: 'restart', target: { kind: 'Container', name: 'web', uid: web.metadata.uid }, nodeName: node },
    });
    const name = created.body.metadata.name;
    await eventually('restart task Running', async () => (await getObj('tasks', name)).status?.state === 'Running', 15_000, 50);
    await agents[node].kill9(); // mid-run: web ignores SIGTERM, so the restart is still waiting out its grace period
    const dataDir = agents[node].dataDir;
    const requeued = await eventually('lease expiry returns the task to the queue', async () => {
      const t = await getObj('tasks', name);
      return ['Pending', 'Queued', 'Assigned'].includes(t.status?.state) ? t : undefined;
    }, 15_000, 100);
    expect(requeued.status.attempts).toBe(1);
    // the same command line as before (join token included, as a service unit would); it keeps its credential
    agents[node] = await startNodeAgent(m, { name: node, namespace: NS, server: proxies[node].url, dataDir, joinToken, extraArgs: ['--task-lease', '3s'] });
    const done = await eventually('retried task Completed', async () => {
      const t = await getObj('tasks', name);
      return t.status?.state === 'Completed' ? t : undefined;
    }, 30_000);
    expect(done.status.attempts).toBe(2);
    await eventually('web Running after the agent came back', async () => (await container('web')).status?.phase === 'Running', 30_000);
  }, 90_000);

  it('a partitioned node goes NotReady within grace + one heartbeat, and its unpinned containers move only after its own copies stopped', async () => {
    const apply = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: mover, namespace: ${NS}}
spec:
  command: [node, -e, "setInterval(() => {}, 1e9)"]
  terminationGracePeriodSeconds: 1
`);
    expect(apply.code).toBe(0);
    const placed = await eventually('mover Running', async () => {
      const c = await container('mover');
      return c.status?.phase === 'Running' && pidOf(c) ? c : undefined;
    }, 30_000);
    const lost = placed.status.nodeName as string;
    const other = lost === 'node-a' ? 'node-b' : 'node-a';
    const oldPid = pidOf(placed);

    const cutAt = Date.now();
    await proxies[lost].cut();
    let bothAlive = false;
    let notReadyAt = 0;
    const moved = await eventually('mover running on the other node', async () => {
      const c = await container('mover');
      const n = await getObj('nodes', lost);
      if (!notReadyAt && condition(n, 'Ready')?.status !== 'True') notReadyAt = Date.now();
      const newPid = c.status?.nodeName === other ? pidOf(c) : 0;
      if (newPid && newPid !== oldPid && pidAlive(newPid) && pidAlive(oldPid)) bothAlive = true;
      return c.status?.nodeName === other && c.status?.phase === 'Running' && newPid !== oldPid ? c : undefined;
    }, 60_000, 100);
    expect(notReadyAt).toBeGreaterThan(0);
    expect(notReadyAt - cutAt).toBeLessThanOrEqual((GRACE_S + HEARTBEAT_S) * 1000 + 1500);
    expect(bothAlive).toBe(false);
    expect(pidAlive(oldPid)).toBe(false);
    const events = (await api(m, 'GET', `${BASE}/events?fieldSelector=involvedObject.name%3Dmover`)).body.items;
    expect(events.map((e: { reason: string }) => e.reason)).toContain('Rescheduled');

    // Heal: the node returns and does not start a second copy.
    await proxies[lost].heal();
    await eventually(`${lost} Ready again`, async () => condition(await getObj('nodes', lost), 'Ready')?.status === 'True', 30_000);
    await sleep(2000);
    const still = await container('mover');
    expect(still.status.nodeName).toBe(other);
    expect(pidOf(still)).toBe(pidOf(moved));
  }, 120_000);

  it('deleting a Node whose agent still runs: its credential stops, its containers move only after its copies stopped, then the Node goes and the agent joins again', async () => {
    const apply = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: drifter, namespace: ${NS}}
spec:
  command: [node, -e, "setInterval(() => {}, 1e9)"]
  terminationGracePeriodSeconds: 1
`);
    expect(apply.code).toBe(0);
    const placed = await eventually('drifter Running', async () => {
      const c = await container('drifter');
      return c.status?.phase === 'Running' && pidOf(c) ? c : undefined;
    }, 30_000);
    const doomed = placed.status.nodeName as string;
    const other = doomed === 'node-a' ? 'node-b' : 'node-a';
    const oldPid = pidOf(placed);
    const oldUid = (await getObj('nodes', doomed)).metadata.uid;

    const del = await run(['delete', 'node', doomed, '-n', NS]);
    expect(del.code).toBe(0);
    // still there, terminating, until its workloads are stopped or placed elsewhere
    const terminating = await getObj('nodes', doomed);
    expect(terminating.metadata.uid).toBe(oldUid);
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    let bothAlive = false;
    const moved = await eventually('drifter running on the other node', async () => {
      const c = await container('drifter');
      const newPid = c.status?.nodeName === other ? pidOf(c) : 0;
      if (newPid && newPid !== oldPid && pidAlive(newPid) && pidAlive(oldPid)) bothAlive = true;
      return c.status?.nodeName === other && c.status?.phase === 'Running' && newPid !== oldPid ? c : undefined;
    }, 60_000, 100);
    expect(bothAlive).toBe(false);
    expect(pidAlive(oldPid)).toBe(false);
    const events = (await api(m, 'GET', `${BASE}/events?fieldSelector=involvedObject.name%3Ddrifter`)).body.items;
    expect(events.map((e: { message: string }) => e.message)).toContainEqual(expect.stringMatching(new RegExp(`moved from node ${doomed} \\(deleted\\)`)));
    // The old Node goes; the agent, still running with its join token, joins again as a new Node, as a kubelet re-registers.
    const back = await eventually(`${doomed} joined again as a new Node`, async () => {
      const r = await api(m, 'GET', `${BASE}/nodes/${doomed}`);
      return r.status === 200 && r.body.metadata.uid !== oldUid && condition(r.body, 'Ready')?.status === 'True' ? r.body : undefined;
    }, 60_000, 250);
    expect(back.metadata.deletionTimestamp).toBeUndefined();
    await sleep(2000);
    const still = await container('drifter');
    expect(still.status.nodeName).toBe(other);
    expect(pidOf(still)).toBe(pidOf(moved));
  }, 120_000);
});

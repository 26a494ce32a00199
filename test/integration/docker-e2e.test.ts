// Issue 5 end to end: a real manager, two real node agents with the Docker runtime, each driving its own
// private Docker engine (two "hosts"). Containers are real Docker containers of the busybox test image on
// host networking (127.0.0.1 only); agents are real `docker exec` processes inside them.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO, startManager, startNodeAgent, drover, api, eventually, sleep, cleanup,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';
import { dockerAvailable, startEngines, TEST_IMAGE, type DockerEngine } from '../helpers/docker-engines.ts';

const NS = 'dk';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
const STACK = join(REPO, 'manifests/examples/docker-stack.yaml');
let m: ManagerProcess;
let joinToken: string;
let engines: Record<string, DockerEngine> = {};
const agents: Record<string, AgentProcess> = {};
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const list = async (plural: string, q = '') => (await api(m, 'GET', `${BASE}/${plural}${q}`)).body.items as any[];
const getObj = async (plural: string, name: string) => (await api(m, 'GET', `${BASE}/${plural}/${name}`)).body;

async function startNode(name: string, opts: { dataDir?: string } = {}) {
  agents[name] = await startNodeAgent(m, {
    name, namespace: NS, joinToken: opts.dataDir ? undefined : joinToken, dataDir: opts.dataDir,
    extraArgs: ['--runtime', 'docker', '--docker-host', engines[name].host, '--docker-network', 'host'],
  });
}

async function docker(node: string, args: string[]): Promise<string> {
  const r = await engines[node].docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${node}: ${r.stderr}`);
  return r.stdout;
}

async function inspect(node: string, name: string): Promise<any> {
  return JSON.parse(await docker(node, ['inspect', name]))[0];
}

/** `name → {id, startedAt, restarts}` of drover's containers on one engine. */
async function dockerState(node: string): Promise<Record<string, { id: string; startedAt: string; restarts: number; running: boolean }>> {
  const ids = (await docker(node, ['ps', '-aq', '--filter', 'label=drover.dev/managed-by=drover'])).split('\n').filter(Boolean);
  const out: Record<string, { id: string; startedAt: string; restarts: number; running: boolean }> = {};
  for (const id of ids) {
    const c = await inspect(node, id);
    out[c.Name.replace(/^\//, '')] = { id: c.Id, startedAt: c.State.StartedAt, restarts: c.RestartCount, running: c.State.Running };
  }
  return out;
}

/**
 * Agent ids of agent processes running on this machine for namespace NS (from /proc/PID/environ): exec'd
 * processes in containers are ordinary processes of this kernel. Only the root of each agent counts.
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
      if (state[0] === 'Z') continue;
      idOf.set(pid, id);
      parentOf.set(pid, Number(state[1]));
    } catch {
      continue;
    }
  }
  const out = new Map<string, number[]>();
  for (const [pid, id] of idOf) {
    if (idOf.get(parentOf.get(pid)!) === id) continue;
    out.set(id, [...(out.get(id) ?? []), pid]);
  }
  return out;
}

/** Samples the agent processes every 100 ms until stopped; records any agent id seen running twice. */
function watchForDuplicates() {
  const twice: string[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const [id, pids] of liveAgentProcesses()) if (pids.length > 1) twice.push(`${id}: pids ${pids.join(',')}`);
      await sleep(100);
    }
  })();
  return { twice, async stop() { on = false; await loop; } };
}

async function agentsOf(deployment: string) {
  return list('agents', `?labelSelector=${encodeURIComponent(`drover.dev/deployment=${deployment}`)}`);
}

async function allRunning(deployment: string, n: number, timeoutMs = 60_000) {
  return eventually(`${n} agents of ${deployment} Running`, async () => {
    const items = await agentsOf(deployment);
    return items.length === n && items.every((a) => a.status?.phase === 'Running') ? items : undefined;
  }, timeoutMs, 250);
}

const deployment = (name: string, replicas: number, placement: string) => `apiVersion: drover.dev/v1alpha1
kind: AgentDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  agentType: ${name}
  replicas: ${replicas}
  template:
    command: [/bin/sh, -c, "trap 'exit 0' TERM; while true; do echo tick; sleep 1; done"]
  placement: ${placement}
`;

const host = (name: string, node: string, caps: string[]) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ${name}, namespace: ${NS}}
spec:
  image: ${TEST_IMAGE}
  imagePullPolicy: Never
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  agentHost: {capabilities: [${caps.join(', ')}], capacity: {agents: 10}}
`;

beforeAll(async () => {
  const missing = dockerAvailable();
  if (missing) throw new Error(missing);
  const [e1, e2] = await startEngines(2);
  engines = { n1: e1, n2: e2 };
  m = await startManager();
  const applied = await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: ${NS}}
spec:
  failurePolicy: {heartbeatInterval: 1s, gracePeriod: 4s}
  rebalancePolicy: {enabled: false}
`);
  expect(applied.code).toBe(0);
  joinToken = (await run(['token', 'create', '--join', '--cluster', NS])).stdout.trim();
  await startNode('n1');
  await startNode('n2');
}, 180_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.stop().catch(() => undefined);
  await cleanup();
  // the engines are torn down by the docker-engines helper's own afterAll
}, 120_000);

describe('Docker runtime, two engines', () => {
  it('the example stack comes up in dependency order, with passing health checks and its limits in docker inspect', async () => {
    const r = await run(['apply', '-f', STACK, '-n', NS]);
    expect(r.code).toBe(0);
    const stack = await eventually('the 5 containers of the stack Running and Healthy', async () => {
      const items = (await list('containers')).filter((c) => c.metadata.labels?.app === 'seeds');
      const ok = items.length === 5 && items.every((c) => c.status?.phase === 'Running'
        && c.status.conditions?.some((k: any) => k.type === 'Healthy' && k.status === 'True'));
      return ok ? Object.fromEntries(items.map((c) => [c.metadata.name, c])) : undefined;
    }, 90_000, 250);
    const healthyAt = (n: string) => Date.parse(stack[n].status.conditions.find((k: any) => k.type === 'Healthy').lastTransitionTime);
    const startedAt = (n: string) => Date.parse(stack[n].status.startedAt);
    // dependsOn: api started only after db and cache passed their checks; webui and worker after api did.
    expect(startedAt('api')).toBeGreaterThanOrEqual(Math.max(healthyAt('db'), healthyAt('cache')));
    expect(startedAt('webui')).toBeGreaterThanOrEqual(healthyAt('api'));
    expect(startedAt('worker')).toBeGreaterThanOrEqual(healthyAt('api'));
    for (const c of Object.values(stack) as any[]) expect(c.status.containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);

    // Really serving on 127.0.0.1, whichever engine runs it.
    expect(await (await fetch('http://127.0.0.1:28080/')).text()).toContain('seeds');
    expect((await fetch('http://127.0.0.1:28000/health')).status).toBe(200);

    // The exec check runs as Docker's own HEALTHCHECK; the limits are the engine's.
    const cacheNode = stack.cache.status.nodeName;
    const cache = await inspect(cacheNode, `drover.${cacheNode}.${NS}.cache`);
    expect(cache.State.Health.Status).toBe('healthy');
    expect(cache.Config.Labels).toMatchObject({ 'drover.dev/managed-by': 'drover', 'drover.dev/node': cacheNode, 'drover.dev/name': 'cache', 'drover.dev/uid': stack.cache.metadata.uid });
    const dbNode = stack.db.status.nodeName;
    const db = await inspect(dbNode, `drover.${dbNode}.${NS}.db`);
    expect(db.HostConfig.NanoCpus).toBe(500_000_000);
    expect(db.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(db.HostConfig.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(db.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(db.Mounts.map((x: any) => x.Destination)).toContain('/var/lib/db');
  }, 120_000);

  it('logs, stop, start and restart go through to the Docker container', async () => {
    const logs = await eventually('worker output shipped', async () => {
      const r = await run(['logs', 'container/worker', '-n', NS]);
      return r.stdout.includes('worked') ? r.stdout : undefined;
    }, 30_000, 500);
    expect(logs).toContain('worked');

    const webui = await getObj('containers', 'webui');
    const node = webui.status.nodeName;
    const dname = `drover.${node}.${NS}.webui`;
    const id = (await inspect(node, dname)).Id;
    const setState = (state: string) => api(m, 'PATCH', `${BASE}/containers/webui`, { spec: { state } }, 'application/merge-patch+json');
    expect((await setState('Stopped')).status).toBe(200);
    await eventually('webui Stopped', async () => (await getObj('containers', 'webui')).status?.phase === 'Stopped', 30_000);
    const stopped = await inspect(node, dname);
    expect(stopped.State.Running).toBe(false);
    expect(stopped.Id).toBe(id);
    expect((await setState('Running')).status).toBe(200);
    await eventually('webui Running again, same Docker container', async () => {
      const c = await getObj('containers', 'webui');
      return c.status?.phase === 'Running' && c.status.containerID === `docker://${id}`;
    }, 30_000);
    const startedBefore = (await inspect(node, dname)).State.StartedAt;
    expect((await run(['restart', 'container', 'webui', '-n', NS])).code).toBe(0);
    await eventually('webui restarted', async () => (await inspect(node, dname)).State.StartedAt !== startedBefore && (await getObj('containers', 'webui')).status?.phase === 'Running', 30_000);
  }, 120_000);

  it('an image that is not there with imagePullPolicy Never fails with a clear reason', async () => {
    expect((await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ghost, namespace: ${NS}}
spec: {image: "nosuch/image:1.0", imagePullPolicy: Never, command: [sleep, "100"]}
`)).code).toBe(0);
    const ghost = await eventually('ghost Failed', async () => {
      const c = await getObj('containers', 'ghost');
      return c.status?.phase === 'Failed' ? c : undefined;
    }, 30_000);
    expect(ghost.status.reason).toBe('ErrImageNeverPull');
    expect(ghost.status.message).toContain('image "nosuch/image:1.0" is not present on node');
    expect(ghost.status.message).toContain('imagePullPolicy is Never');
    const described = await run(['describe', 'container', 'ghost', '-n', NS]);
    expect(described.stdout).toContain('ErrImageNeverPull');
    expect((await run(['delete', 'container', 'ghost', '-n', NS])).code).toBe(0);
  }, 60_000);

  it('docker kill of an agent-host container moves its agents to a healthy container on the other node, never running one twice', async () => {
    expect((await run(['apply', '-f', '-'], [host('host-a', 'n1', ['cpu']), host('host-b', 'n2', ['cpu'])].join('---\n'))).code).toBe(0);
    await eventually('both agent hosts Running', async () => {
      const cs = await list('containers');
      return ['host-a', 'host-b'].every((n) => cs.find((c) => c.metadata.name === n)?.status?.phase === 'Running');
    }, 60_000);
    expect((await run(['apply', '-f', '-'], deployment('bots', 4, '{strategy: LeastLoaded}'))).code).toBe(0);
    const before = await allRunning('bots', 4);
    const onA = before.filter((a) => a.spec.containerName === 'host-a').map((a) => a.metadata.name);
    expect(onA.length).toBeGreaterThan(0);
    // Really running inside the container, as the same ids.
    expect([...liveAgentProcesses().keys()].filter((id) => id.startsWith('bots-')).sort()).toEqual(before.map((a) => a.metadata.name).sort());

    const dup = watchForDuplicates();
    try {
      await docker('n1', ['kill', `drover.n1.${NS}.host-a`]);
      const after = await eventually('every agent of bots Running on host-b', async () => {
        const items = await agentsOf('bots');
        return items.length === 4 && items.every((a) => a.status?.phase === 'Running' && a.spec.containerName === 'host-b') ? items : undefined;
      }, 60_000, 250);
      for (const name of onA) expect(after.map((a) => a.metadata.name)).toContain(name); // the same Agent ids moved
      const ps = await docker('n2', ['exec', `drover.n2.${NS}.host-b`, 'ps']);
      expect(ps.match(/while true; do echo tick/g)?.length).toBe(4);
    } finally {
      await dup.stop();
    }
    expect(dup.twice).toEqual([]);
    const hostA = await getObj('containers', 'host-a');
    expect(['Stopped', 'Failed']).toContain(hostA.status.phase);
  }, 120_000);

  it('a discovered agent-capable container hosts agents and survives drover deleting its Container object', async () => {
    await docker('n1', ['run', '-d', '--name', 'seeds-gpu', '--network', 'host', '--label', 'drover.dev/agent-capable=true',
      '--label', 'drover.dev/capabilities=gpu', TEST_IMAGE, 'sleep', '100000']);
    const found = await eventually('seeds-gpu registered and Running', async () => {
      const c = (await list('containers')).find((x) => x.metadata.name === 'seeds-gpu');
      return c?.status?.phase === 'Running' ? c : undefined;
    }, 30_000);
    expect(found.spec).toMatchObject({ managed: false, nodeName: 'n1', image: TEST_IMAGE, agentHost: { capabilities: ['gpu'] } });
    expect(found.status.nodeName).toBe('n1');

    expect((await run(['apply', '-f', '-'], deployment('gpu-bots', 2, '{strategy: CapabilityMatch, requiredCapabilities: [gpu]}'))).code).toBe(0);
    const placed = await allRunning('gpu-bots', 2);
    expect(placed.every((a) => a.spec.containerName === 'seeds-gpu')).toBe(true);
    expect((await docker('n1', ['exec', 'seeds-gpu', 'ps'])).match(/while true; do echo tick/g)?.length).toBe(2);
    const logs = await run(['logs', `agent/${placed[0].metadata.name}`, '-n', NS]);
    expect(logs.stdout).toContain('tick');

    expect((await run(['delete', 'container', 'seeds-gpu', '-n', NS])).code).toBe(0);
    await eventually('the agents left seeds-gpu', async () => !/while true; do echo tick/.test(await docker('n1', ['exec', 'seeds-gpu', 'ps'])), 30_000);
    const still = await inspect('n1', 'seeds-gpu');
    expect(still.State.Running).toBe(true);
    expect(still.RestartCount).toBe(0);
    expect(still.State.StartedAt).toBe((await inspect('n1', found.metadata.annotations['drover.dev/docker-id'])).State.StartedAt);
    expect((await run(['delete', 'agentdeployment', 'gpu-bots', '-n', NS])).code).toBe(0);
  }, 90_000);

  it('restarting a node agent recreates nothing and restarts nothing, agents included', async () => {
    const before = { n1: await dockerState('n1'), n2: await dockerState('n2') };
    const agentsBefore = new Map([...liveAgentProcesses()].map(([id, pids]) => [id, pids.join(',')]));
    expect(agentsBefore.size).toBeGreaterThan(0);
    for (const node of ['n1', 'n2']) {
      const dataDir = agents[node].dataDir;
      await agents[node].kill9();
      await startNode(node, { dataDir });
    }
    await sleep(7000); // more than a sync period (5 s) and several heartbeats
    expect(await dockerState('n1')).toEqual(before.n1);
    expect(await dockerState('n2')).toEqual(before.n2);
    expect(new Map([...liveAgentProcesses()].map(([id, pids]) => [id, pids.join(',')]))).toEqual(agentsBefore);
    const bots = await agentsOf('bots');
    expect(bots.every((a) => a.status?.phase === 'Running')).toBe(true);
    expect(agents.n1.output()).toContain('adopted a container from an earlier run');
  }, 90_000);

  it('a Container deleted while its node agent was down is removed from the engine when the agent returns', async () => {
    expect((await run(['apply', '-f', '-'], `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: orphan, namespace: ${NS}}
spec: {image: ${TEST_IMAGE}, imagePullPolicy: Never, nodeName: n1, command: [sleep, "100000"], terminationGracePeriodSeconds: 1}
`)).code).toBe(0);
    await eventually('orphan Running', async () => (await getObj('containers', 'orphan')).status?.phase === 'Running', 30_000);
    const dataDir = agents.n1.dataDir;
    await agents.n1.kill9();
    expect((await run(['delete', 'container', 'orphan', '-n', NS])).code).toBe(0);
    await eventually('the object gone once n1 is past its fencing deadline', async () => (await api(m, 'GET', `${BASE}/containers/orphan`)).status === 404, 30_000, 250);
    expect((await inspect('n1', `drover.n1.${NS}.orphan`)).State.Running).toBe(true); // nobody was there to remove it
    await startNode('n1', { dataDir });
    await eventually('the orphan removed from engine n1', async () => !(`drover.n1.${NS}.orphan` in (await dockerState('n1'))), 30_000, 250);
  }, 90_000);

  it('kill -9 of a node agent: its node watchdog stops the unpinned containers and the agents by the grace period, so they move without ever running twice', async () => {
    const wd = [1, 2, 3, 4].map((i) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: wd-${i}, namespace: ${NS}, labels: {app: wd}}
spec: {image: ${TEST_IMAGE}, imagePullPolicy: Never, command: [sleep, "100000"], terminationGracePeriodSeconds: 1, spread: {matchLabels: {app: wd}}}
`);
    expect((await run(['apply', '-f', '-'], [...wd, host('host-c', 'n1', ['wd'])].join('---\n'))).code).toBe(0);
    const placed = await eventually('the wd containers and host-c Running', async () => {
      const items = (await list('containers')).filter((c) => c.metadata.labels?.app === 'wd' || c.metadata.name === 'host-c');
      return items.length === 5 && items.every((c) => c.status?.phase === 'Running') ? items : undefined;
    }, 60_000);
    const onN1 = placed.filter((c) => c.metadata.labels?.app === 'wd' && c.status.nodeName === 'n1').map((c) => c.metadata.name).sort();
    expect(onN1.length).toBe(2); // spread
    expect((await run(['apply', '-f', '-'], deployment('wd-bots', 2, '{strategy: CapabilityMatch, requiredCapabilities: [wd]}'))).code).toBe(0);
    await allRunning('wd-bots', 2);
    // somewhere for the agents to go once n1 is lost
    expect((await run(['apply', '-f', '-'], host('host-d', 'n2', ['wd']))).code).toBe(0);
    await eventually('host-d Running', async () => (await getObj('containers', 'host-d')).status?.phase === 'Running', 60_000);

    // Copies of each wd container running on either engine, sampled until stopped.
    const copies: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const outs = await Promise.all(['n1', 'n2'].map((n) => engines[n].docker(['ps', '--filter', `label=drover.dev/namespace=${NS}`, '--format', '{{.Label "drover.dev/name"}}'])));
        const names = outs.flatMap((o) => o.stdout.split('\n').filter((x) => x.startsWith('wd-')));
        for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1 && !copies.includes(n)) copies.push(n);
        await sleep(100);
      }
    })();
    const dup = watchForDuplicates();
    const dataDir = agents.n1.dataDir;
    try {
      await agents.n1.kill9();
      await eventually('every wd container Running on n2 and the wd-bots on host-d', async () => {
        const cs = (await list('containers')).filter((c) => c.metadata.labels?.app === 'wd');
        const bots = await agentsOf('wd-bots');
        return cs.length === 4 && cs.every((c) => c.status?.phase === 'Running' && c.status.nodeName === 'n2')
          && bots.length === 2 && bots.every((a) => a.status?.phase === 'Running' && a.spec.containerName === 'host-d');
      }, 90_000, 250);
    } finally {
      sampling = false;
      await sampler;
      await dup.stop();
    }
    expect(copies).toEqual([]);
    expect(dup.twice).toEqual([]);
    // n1's engine runs none of them any more, but still runs the pinned host-c (pinned containers are never moved)
    const n1 = await dockerState('n1');
    for (const name of onN1) expect(n1[`drover.n1.${NS}.${name}`]?.running ?? false).toBe(false);
    expect(n1[`drover.n1.${NS}.host-c`]?.running).toBe(true);
    expect(await docker('n1', ['exec', `drover.n1.${NS}.host-c`, 'ps'])).not.toMatch(/while true; do echo tick/);
    expect(readFileSync(join(dataDir, 'watchdog', 'watchdog.log'), 'utf8')).toMatch(/fenced the node/);

    await startNode('n1', { dataDir });
    expect((await run(['delete', 'agentdeployment', 'wd-bots', '-n', NS])).code).toBe(0);
    expect((await run(['delete', 'container', '-l', 'app=wd', '-n', NS])).code).toBe(0);
    expect((await run(['delete', 'container', 'host-c', 'host-d', '-n', NS])).code).toBe(0);
  }, 180_000);

  it('drover delete removes the stack\'s Docker containers', async () => {
    expect((await run(['delete', '-f', STACK, '-n', NS])).code).toBe(0);
    await eventually('no stack container left on either engine', async () => {
      const names = [...Object.keys(await dockerState('n1')), ...Object.keys(await dockerState('n2'))];
      return !names.some((n) => /\.(db|cache|api|webui|worker)$/.test(n));
    }, 60_000, 500);
    expect((await list('containers')).filter((c) => c.metadata.labels?.app === 'seeds')).toEqual([]);
  }, 90_000);

  it('stopping one engine and its node agent moves its unpinned containers to the other node', async () => {
    const movers = [1, 2, 3, 4].map((i) => `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: mover-${i}, namespace: ${NS}, labels: {app: movers}}
spec: {image: ${TEST_IMAGE}, imagePullPolicy: Never, command: [sleep, "100000"], terminationGracePeriodSeconds: 1, spread: {matchLabels: {app: movers}}}
`).join('---\n');
    expect((await run(['apply', '-f', '-'], movers)).code).toBe(0);
    const placed = await eventually('4 movers Running', async () => {
      const items = (await list('containers')).filter((c) => c.metadata.labels?.app === 'movers');
      return items.length === 4 && items.every((c) => c.status?.phase === 'Running') ? items : undefined;
    }, 60_000);
    const onN2 = placed.filter((c) => c.status.nodeName === 'n2').map((c) => c.metadata.name);
    expect(onN2.length).toBe(2); // spread

    await engines.n2.stop();
    await agents.n2.stop();
    const moved = await eventually('every mover Running on n1', async () => {
      const items = (await list('containers')).filter((c) => c.metadata.labels?.app === 'movers');
      return items.length === 4 && items.every((c) => c.status?.phase === 'Running' && c.status.nodeName === 'n1') ? items : undefined;
    }, 60_000, 250);
    expect(moved.map((c) => c.metadata.name).sort()).toEqual(['mover-1', 'mover-2', 'mover-3', 'mover-4']);
    const onEngine = Object.keys(await dockerState('n1'));
    for (const name of onN2) expect(onEngine).toContain(`drover.n1.${NS}.${name}`);
    // host-b was pinned to n2: it is not moved.
    expect((await getObj('containers', 'host-b')).status.nodeName).toBe('n2');
  }, 120_000);
});

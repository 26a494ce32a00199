// `drover agent` as a real process with the process runtime against a real manager: join, Node Ready with
// capacity, a Container that really runs, identity kept across agent restarts, and a manager restart
// that restarts nothing.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  startManager, startNodeAgent, drover, api, freePort, eventually, pidAlive, sleep, cleanup, tempDir,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';

const NS = 'default';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;

let m: ManagerProcess;
let port: number;
let managerDir: string;
let agent: AgentProcess;
let agentDir: string;
let joinToken: string;

const getObj = async (plural: string, name: string) => (await api(m, 'GET', `${BASE}/${plural}/${name}`)).body;
const pidOf = (c: any): number => Number(/^process:\/\/(\d+)$/.exec(c?.status?.containerID ?? '')?.[1] ?? 0);
const ready = (o: any) => o?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
const running = (name: string) => eventually(`${name} Running with a live pid`, async () => {
  const c = await getObj('containers', name);
  return c.status?.phase === 'Running' && pidOf(c) && pidAlive(pidOf(c)) ? c : undefined;
}, 40_000);

/** Pids of `sleep` processes whose working directory is under `dir`: the container's real instances. */
function sleepersUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0].endsWith('sleep')) pids.push(Number(entry));
    } catch {
      continue; // exited while we looked, or not ours to read
    }
  }
  return pids;
}

beforeAll(async () => {
  port = await freePort();
  managerDir = tempDir('drover-mgr-agent-');
  m = await startManager({ port, dataDir: managerDir });
  const tok = await drover(['token', 'create', '--join', '--cluster', NS], { config: m.configPath });
  expect(tok.code).toBe(0);
  joinToken = tok.stdout.trim();
  agentDir = tempDir('drover-agent-it-');
  agent = await startNodeAgent(m, { name: 'n1', namespace: NS, joinToken, dataDir: agentDir, labels: 'zone=it' });
}, 90_000);

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await m?.stop().catch(() => undefined);
  await cleanup();
});

describe('drover agent', () => {
  it('joins, keeps its credential 0600 and reports a Ready Node with capacity and a local /health', async () => {
    const credFile = join(agentDir, 'credential.json');
    expect(statSync(credFile).mode & 0o777).toBe(0o600);
    const cred = JSON.parse(readFileSync(credFile, 'utf8'));
    expect(cred).toMatchObject({ namespace: NS, nodeName: 'n1' });
    expect(cred.token).toMatch(/^drvn_/);

    const node = await getObj('nodes', 'n1');
    expect(node.metadata.labels).toMatchObject({ zone: 'it' });
    expect(node.status.capacity).toMatchObject({ containers: 50, agents: 200 });
    expect(node.status.runtime.type).toBe('process');
    expect(node.status.lastHeartbeatTime).toMatch(/\.\d{3}Z$/);
    expect(ready(node)).toMatchObject({ status: 'True', reason: 'AgentReady' });

    const local = /"listen":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(agent.output())?.[1];
    expect(local).toBeDefined();
    const health = await (await fetch(`${local}/health`)).json();
    expect(health).toMatchObject({ node: 'n1', namespace: NS, managerReachable: true, fenced: false });
    expect(await (await fetch(`${local}/metrics`)).text()).toMatch(/drover_agent_heartbeats_total [1-9]/);
  });

  it('runs an applied Container as a real process and reports it Running', async () => {
    const r = await drover(['apply', '-f', '-'], {
      config: m.configPath,
      input: `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: sleeper, namespace: ${NS}}
spec:
  command: [/bin/sh, -c, "echo hello from sleeper; exec sleep 300"]
  restartPolicy: Always
`,
    });
    expect(r.code).toBe(0);
    const c = await running('sleeper');
    expect(c.status).toMatchObject({ nodeName: 'n1', observedGeneration: 1 });
    expect(c.status.conditions.find((x: { type: string }) => x.type === 'Started')).toMatchObject({ status: 'True' });
    const events = (await api(m, 'GET', `${BASE}/events`)).body.items as any[];
    expect(events.some((e) => e.reason === 'Started' && e.involvedObject.name === 'sleeper' && e.source?.component === 'drover-agent')).toBe(true);
  });

  it('keeps workloads running through a short manager restart and restarts nothing', async () => {
    const before = pidOf(await getObj('containers', 'sleeper'));
    await m.stop();
    await sleep(1500); // well under the 10 s grace period: no fencing
    expect(pidAlive(before)).toBe(true);
    m = await startManager({ port, dataDir: managerDir });
    await eventually('the agent heartbeats the new manager', async () => {
      const node = await getObj('nodes', 'n1');
      return Date.now() - Date.parse(node.status.lastHeartbeatTime) < 3000 && ready(node)?.status === 'True';
    }, 20_000);
    await sleep(6000); // more than one full resync period
    const c = await getObj('containers', 'sleeper');
    expect(pidOf(c)).toBe(before);
    expect(c.status.restarts).toBe(0);
    expect(pidAlive(before)).toBe(true);
  }, 60_000);

  it('restarted with the same data dir it keeps its Node identity without a join token and runs the container once', async () => {
    const oldPid = pidOf(await getObj('containers', 'sleeper'));
    const nodeUid = (await getObj('nodes', 'n1')).metadata.uid;
    expect(await agent.stop()).toBe(0);
    expect(pidAlive(oldPid)).toBe(false); // SIGTERM stops the node's containers
    const node = await getObj('nodes', 'n1');
    expect(ready(node)).toMatchObject({ status: 'False', reason: 'AgentStopped' });

    // No --join-token: only the saved credential can make this start succeed.
    agent = await startNodeAgent(m, { name: 'n1', namespace: NS, dataDir: agentDir });
    expect((await getObj('nodes', 'n1')).metadata.uid).toBe(nodeUid);
    const c = await running('sleeper');
    const newPid = pidOf(c);
    expect(newPid).not.toBe(oldPid);
    await sleep(6000); // a resync later: still the same single instance
    const again = await getObj('containers', 'sleeper');
    expect(pidOf(again)).toBe(newPid);
    expect(pidAlive(newPid)).toBe(true);
    expect(sleepersUnder(agentDir)).toEqual([newPid]);
  }, 90_000);
});

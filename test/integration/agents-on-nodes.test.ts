// Agents on a real node: a real manager and one real `drover agent` (process runtime). An Agent bound by
// hand to an agent-host Container runs the sample trading agent as a real process with its identity in
// the environment, its output reaches `drover logs agent/NAME`, deleting it stops the process, and
// stopping its container marks it Failed ContainerNotRunning.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO, startManager, startNodeAgent, drover, api, eventually, pidAlive, cleanup,
  type ManagerProcess, type AgentProcess,
} from '../helpers/processes.ts';

const NS = 'default';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
const TRADING = readFileSync(join(REPO, 'manifests/examples/agents/trading.js'), 'utf8');

let m: ManagerProcess;
let node: AgentProcess;

const getObj = async (plural: string, name: string) => (await api(m, 'GET', `${BASE}/${plural}/${name}`)).body;

async function bindAgent(name: string, container: string): Promise<void> {
  const c = await api(m, 'POST', `${BASE}/agents`, {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Agent', metadata: { name },
    spec: { agentType: 'trading', command: ['node', '-e', TRADING], config: { symbol: 'ACME', strategy: 'momentum' }, containerName: container },
  });
  expect(c.status).toBe(201);
  // what the scheduler does: spec.containerName (above), then the binding in /status
  const s = await api(m, 'PATCH', `${BASE}/agents/${name}/status`, { status: { nodeName: 'n1', containerName: container, phase: 'Scheduled' } }, 'application/merge-patch+json');
  expect(s.status).toBe(200);
}

const runningAgent = (name: string) => eventually(`agent ${name} Running with a live pid`, async () => {
  const a = await getObj('agents', name);
  return a.status?.phase === 'Running' && a.status.pid && pidAlive(a.status.pid) ? a : undefined;
}, 40_000);

beforeAll(async () => {
  m = await startManager();
  const tok = await drover(['token', 'create', '--join', '--cluster', NS], { config: m.configPath });
  expect(tok.code).toBe(0);
  node = await startNodeAgent(m, { name: 'n1', namespace: NS, joinToken: tok.stdout.trim() });
  const r = await drover(['apply', '-f', '-'], {
    config: m.configPath,
    input: `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: host-1, namespace: ${NS}, labels: {tier: agents}}
spec:
  command: [/bin/sh, -c, "exec sleep 600"]
  agentHost: {capabilities: [general], capacity: {agents: 4}}
`,
  });
  expect(r.code).toBe(0);
  await eventually('host-1 Running on n1', async () => {
    const c = await getObj('containers', 'host-1');
    return c.status?.phase === 'Running' && c.status.nodeName === 'n1';
  }, 40_000);
}, 120_000);

afterAll(async () => {
  await node?.stop().catch(() => undefined);
  await m?.stop().catch(() => undefined);
  await cleanup();
});

describe('agents on a real node', () => {
  it('runs a bound Agent as a real process with its identity, ships its output to drover logs, and stops it when deleted', async () => {
    await bindAgent('trading-a1b2c', 'host-1');
    const a = await runningAgent('trading-a1b2c');
    expect(a.status).toMatchObject({ nodeName: 'n1', containerName: 'host-1', execID: `process://${a.status.pid}`, restarts: 0 });
    const env = readFileSync(`/proc/${a.status.pid}/environ`, 'utf8').split('\0');
    expect(env).toEqual(expect.arrayContaining([
      'DROVER_AGENT_ID=trading-a1b2c', 'DROVER_AGENT_TYPE=trading', `DROVER_MANAGER_URL=${m.url}`, `DROVER_NAMESPACE=${NS}`,
    ]));
    expect(JSON.parse(env.find((e) => e.startsWith('DROVER_AGENT_CONFIG='))!.slice('DROVER_AGENT_CONFIG='.length))).toEqual({ symbol: 'ACME', strategy: 'momentum' });

    const logs = await eventually('the agent output in drover logs', async () => {
      const r = await drover(['logs', 'agent/trading-a1b2c', '-n', NS], { config: m.configPath });
      return r.code === 0 && /trading-a1b2c tick=\d+ ACME price=/.test(r.stdout) ? r.stdout : undefined;
    }, 20_000, 500);
    expect(logs).toMatch(/^trading-a1b2c tick=1 ACME price=\d+\.\d\d signal=(buy|sell)$/m);

    expect((await api(m, 'DELETE', `${BASE}/agents/trading-a1b2c`)).status).toBe(200);
    await eventually('the deleted agent process to exit', async () => !pidAlive(a.status.pid), 20_000);
  }, 90_000);

  it('stops the agents of a stopped container and reports them Failed ContainerNotRunning (before the manager moves them)', async () => {
    await bindAgent('trading-d3e4f', 'host-1');
    const a = await runningAgent('trading-d3e4f');
    // the manager may move the agent right after the report, so read the Agent's history from a watch
    const seen: any[] = [];
    const abort = new AbortController();
    const res = await fetch(`${m.url}${BASE}/agents?watch=true&fieldSelector=metadata.name=trading-d3e4f&resourceVersion=${a.metadata.resourceVersion}`, {
      headers: { authorization: `Bearer ${m.token}` }, signal: abort.signal,
    });
    const reading = (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) seen.push(JSON.parse(line).object?.status);
        }
      }
    })().catch(() => undefined);
    try {
      const r = await api(m, 'PATCH', `${BASE}/containers/host-1`, { spec: { state: 'Stopped' } }, 'application/merge-patch+json');
      expect(r.status).toBe(200);
      const failed = await eventually('the agent reported Failed ContainerNotRunning', async () =>
        seen.find((st) => st?.phase === 'Failed' && st.reason === 'ContainerNotRunning'), 40_000)
        .catch((e: Error) => { throw new Error(`${e.message}\nseen: ${JSON.stringify(seen)}`); });
      expect(failed).toMatchObject({ nodeName: 'n1', containerName: 'host-1', message: expect.stringMatching(/^container host-1 is (exited|stopping) on node n1$/) });
      // never a misleading clean exit while its container went down
      expect(seen.filter((st) => st?.phase === 'Succeeded')).toEqual([]);
      expect(pidAlive(a.status.pid)).toBe(false);
    } finally {
      abort.abort();
      await reading;
    }
  }, 90_000);
});

// One real manager on a real three-member etcd (`--store etcd`) with one real node agent: the
// quickstart's containers and agents reach Running exactly as on SQLite, the CLI keeps working while
// an etcd member is down, and a restarted manager (a fresh data dir: nothing local) finds it all in etcd.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, startNodeAgent, drover, api, eventually, cleanup, REPO, type ManagerProcess, type AgentProcess } from '../helpers/processes.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

const NS = 'demo';
const BASE = `/apis/drover.dev/v1alpha1/namespaces/${NS}`;
let etcd: EtcdCluster;
let m: ManagerProcess;
let agent: AgentProcess | undefined;
const storeArgs = () => ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')];
const run = (args: string[], input?: string) => drover(args, { config: m.configPath, input });
const items = async (plural: string) => (await api(m, 'GET', `${BASE}/${plural}`)).body.items as any[];

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 3, name: 'e2e' });
  m = await startManager({ extraArgs: storeArgs() });
}, 60_000);

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await m?.stop();
  await cleanup();
  await etcd?.stop();
});

describe('a manager on etcd', () => {
  it('runs the quickstart containers and agents on a node', async () => {
    const quick = ['00-cluster.yaml', '10-containers.yaml', '20-trading.yaml'].map((f) => readFileSync(join(REPO, 'manifests/quickstart', f), 'utf8')).join('\n---\n');
    const applied = await run(['apply', '-f', '-'], quick);
    expect(applied.code).toBe(0);
    const tok = await run(['token', 'create', '--join', '--cluster', NS]);
    expect(tok.code).toBe(0);
    agent = await startNodeAgent(m, { name: 'node-a', namespace: NS, joinToken: tok.stdout.trim() });
    await eventually('both agent hosts Running', async () => (await items('containers')).filter((c) => c.status?.phase === 'Running').length === 2, 60_000);
    await eventually('4 trading agents Running', async () => (await items('agents')).filter((a) => a.status?.phase === 'Running').length === 4, 60_000);
    expect(await items('agents')).toHaveLength(4);
  }, 120_000);

  it('keeps answering the CLI while one etcd member is down', async () => {
    await etcd.stopMember(1, { kill: true });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await run(['get', 'agents', '-n', NS]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
      const scaled = await run(['scale', 'agentdeployment', 'trading', '-n', NS, '--replicas', '5']);
      expect(scaled.code).toBe(0);
      await eventually('5 agents Running', async () => (await items('agents')).filter((a) => a.status?.phase === 'Running').length === 5, 60_000);
    } finally {
      await etcd.startMember(1);
    }
  }, 120_000);

  it('a manager started afresh on the same etcd finds everything there', async () => {
    const before = (await items('agents')).map((a) => `${a.metadata.name} ${a.metadata.uid}`).sort();
    await agent?.stop();
    agent = undefined;
    await m.stop();
    m = await startManager({ extraArgs: storeArgs() }); // a new data dir: nothing local survives
    expect((await items('agents')).map((a) => `${a.metadata.name} ${a.metadata.uid}`).sort()).toEqual(before);
  }, 60_000);
});

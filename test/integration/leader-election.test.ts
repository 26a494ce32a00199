// Leader election on a real three-member etcd (store/etcd-election.ts), with candidates as processes of their
// own: exactly one leads; kill -9 of the leader → another leads within the lease TTL; a paused leader is
// replaced, steps down as soon as it runs again, and its old fence guard can no longer write (the etcd
// store's fenced view); a leader cut off from etcd steps down before another leads; a resigning leader hands
// over at once; losing one etcd member (even etcd's raft leader) does not move a 10 s lease.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO, cleanup, eventually, sleep, track } from '../helpers/processes.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { openEtcdStore } from '../../store/etcd-store.ts';
import { NotLeader } from '../../core/errors.ts';
import type { KubeObject } from '../../core/types.ts';

const TTL_S = 3;
let etcd: EtcdCluster;

interface Line { ev: string; key?: string; createRevision?: string; reason?: string; at: number }

function candidate(name: string, prefix: string, endpoints = etcd.endpoints, ttlS = TTL_S) {
  const child = track(spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'test/helpers/election-candidate.ts'), name, String(ttlS), endpoints.join(','), prefix],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: Line[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const leading = () => {
    const last = lines.filter((l) => l.ev === 'elected' || l.ev === 'deposed').at(-1);
    return last?.ev === 'elected' ? last : undefined;
  };
  return {
    name, lines, leading,
    stderr: () => err,
    elections: () => lines.filter((l) => l.ev === 'elected'),
    async kill9() { child.kill('SIGKILL'); await exited; },
    pause() { child.kill('SIGSTOP'); },
    resume() { child.kill('SIGCONT'); },
    async stop() { child.kill('SIGTERM'); await exited; },
  };
}
type Candidate = ReturnType<typeof candidate>;

async function oneLeader(cands: Candidate[], timeoutMs = 10_000): Promise<Candidate> {
  return eventually('exactly one leader', async () => {
    const l = cands.filter((c) => c.leading());
    return l.length === 1 ? l[0] : undefined;
  }, timeoutMs, 20);
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 3, name: 'election' });
}, 60_000);

afterAll(async () => {
  await cleanup();
  await etcd?.stop();
});

describe('leader election on etcd', () => {
  it('elects exactly one of two candidates, and the other within the TTL after kill -9 of the leader', async () => {
    const a = candidate('a', '/test-election/kill/');
    await oneLeader([a]);
    const b = candidate('b', '/test-election/kill/');
    await sleep(1500);
    expect(b.leading()).toBeUndefined();
    expect(a.leading()).toBeDefined();

    await a.kill9();
    const killedAt = Date.now();
    await oneLeader([b], (TTL_S + 3) * 1000);
    const took = b.elections()[0].at - killedAt;
    // the dead leader's key lives until its lease expires: at most the TTL after its last keep-alive
    expect(took).toBeLessThanOrEqual((TTL_S + 1) * 1000);
    expect(b.elections()[0].key).not.toBe(a.elections()[0].key);
    await b.stop();
  }, 30_000);

  it('replaces a paused leader, which steps down as soon as it runs again and can no longer write', async () => {
    const a = candidate('a', '/test-election/pause/');
    await oneLeader([a]);
    const b = candidate('b', '/test-election/pause/');
    await sleep(500);
    a.pause();
    const pausedAt = Date.now();
    await oneLeader([b], (TTL_S + 3) * 1000);
    expect(b.elections()[0].at - pausedAt).toBeLessThanOrEqual((TTL_S + 1) * 1000);
    a.resume();
    const resumedAt = Date.now();
    const deposed = await eventually('the paused leader to step down', async () => a.lines.find((l) => l.ev === 'deposed'), 5000, 10);
    expect(deposed.at - resumedAt).toBeLessThan(1000);
    // and it does not come back while b lives: b's key is older than any a makes now
    await sleep(1000);
    expect(a.leading()).toBeUndefined();
    expect(b.leading()).toBeDefined();

    // its controllers' writes carried its old guard: fenced, nothing is written; b's guard writes
    const store = await openEtcdStore({ endpoints: etcd.endpoints, prefix: '/test-election/objects/', compactIntervalMs: 0 });
    try {
      const guard = (c: Candidate) => ({ key: c.elections()[0].key!, createRevision: c.elections()[0].createRevision! });
      const obj = (name: string): KubeObject => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name, namespace: 'fence' } });
      await expect(store.fenced(guard(a)).create('events.drover.dev', obj('from-old-leader'))).rejects.toBeInstanceOf(NotLeader);
      await expect(store.get('events.drover.dev', 'fence', 'from-old-leader')).rejects.toMatchObject({ code: 404 });
      const made = await store.fenced(guard(b)).create('events.drover.dev', obj('from-new-leader'));
      await expect(store.fenced(guard(a)).update('events.drover.dev', { ...made, reason: 'late' })).rejects.toBeInstanceOf(NotLeader);
      await expect(store.fenced(guard(a)).delete('events.drover.dev', 'fence', 'from-new-leader')).rejects.toBeInstanceOf(NotLeader);
      expect((await store.get('events.drover.dev', 'fence', 'from-new-leader')).metadata.uid).toBe(made.metadata.uid);
    } finally {
      await store.close();
    }
    await Promise.all([a.stop(), b.stop()]);
  }, 30_000);

  it('a leader cut off from etcd steps down before anyone else can lead', async () => {
    // a reaches etcd only through a proxy we can cut (a partition: both processes keep running)
    const proxy = await startTcpProxy(Number(new URL(etcd.endpoints[0]).port));
    try {
      const a = candidate('a', '/test-election/partition/', [proxy.url]);
      await oneLeader([a]);
      const b = candidate('b', '/test-election/partition/');
      await sleep(1000);
      await proxy.cut();
      const cutAt = Date.now();
      await oneLeader([b], (TTL_S + 3) * 1000);
      const deposed = await eventually('the cut-off leader to step down', async () => a.lines.find((l) => l.ev === 'deposed'), 5000, 10);
      // no overlap: a stopped leading before b started, and within the TTL of the cut
      expect(deposed.at).toBeLessThan(b.elections()[0].at);
      expect(deposed.at - cutAt).toBeLessThanOrEqual(TTL_S * 1000);
      expect(deposed.reason).toMatch(/not renewed|expired|campaign|watch/);
      await proxy.heal();
      await sleep(2000);
      expect(a.leading()).toBeUndefined(); // back as a candidate behind b
      expect(b.leading()).toBeDefined();
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('hands over at once when the leader resigns', async () => {
    const a = candidate('a', '/test-election/resign/');
    await oneLeader([a]);
    const b = candidate('b', '/test-election/resign/');
    await sleep(500);
    const t0 = Date.now();
    await a.stop();
    await oneLeader([b], 5000);
    expect(b.elections()[0].at - t0).toBeLessThan(1000);
    await b.stop();
  }, 30_000);

  it('keeps its leader (10 s lease) when one etcd member, the raft leader, is killed', async () => {
    // etcd elects a new raft leader within 1–2 s and extends every lease when it does; a leader on a 3 s
    // lease may step down meanwhile (it cannot prove its lease for 2.5 s), one on the default 10 s may not
    const a = candidate('a', '/test-election/member/', etcd.endpoints, 10);
    const b = candidate('b', '/test-election/member/', etcd.endpoints, 10);
    const leader = await oneLeader([a, b]);
    const before = leader.elections().length;
    const raftLeader = await etcdLeaderIndex(etcd);
    await etcd.stopMember(raftLeader, { kill: true });
    await sleep(5000);
    expect(await oneLeader([a, b])).toBe(leader);
    expect(leader.elections().length).toBe(before);
    expect(leader.lines.filter((l) => l.ev === 'deposed')).toEqual([]);
    await etcd.startMember(raftLeader);
    await Promise.all([a.stop(), b.stop()]);
  }, 40_000);
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

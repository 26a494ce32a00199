// Store backends compared: the embedded SQLite store (one manager) against etcd (three members on loopback,
// two managers with leader election), through real manager processes on this machine:
//  1. writes per second: Events created through the API (POST, 16 in flight; no controller reacts to them,
//     so this is the API + store write path),
//  2. watch latency p50/p99: WATCHERS watch streams, PACED paced creates, time from POST sent to the event
//     read by each watcher (etcd: half the watchers on the manager that took the write, half on the other),
//  3. failover: kill -9 of the manager running the controllers → a controller write by its successor: a
//     Container created right after the kill gets its status from the container controller. etcd: the
//     standby manager takes over after the lease TTL; SQLite has no standby, so the time is a supervisor
//     restarting the manager at once (systemd Restart=always, RestartSec=0) on the same data dir.
// Usage: node bench/store-bench.ts [--backends sqlite,etcd] [--objects 2000] [--watchers 20] [--paced 200]
//                                  [--ttl 3,10] [--failovers 3]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort, machine, percentile, sleep, REPO } from './bench-util.ts';
import { startEtcdCluster, type EtcdCluster } from '../test/helpers/etcd-cluster.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const BACKENDS = (args.get('backends') ?? 'sqlite,etcd').split(',');
const OBJECTS = Number(args.get('objects') ?? 2000);
const WATCHERS = Number(args.get('watchers') ?? 20);
const PACED = Number(args.get('paced') ?? 200);
const TTLS = (args.get('ttl') ?? '3,10').split(',').map(Number);
const FAILOVERS = Number(args.get('failovers') ?? 3);
const IN_FLIGHT = 16;
const NS = 'default';
const EVENTS = `/apis/drover.dev/v1alpha1/namespaces/${NS}/events`;
const CONTAINERS = `/apis/drover.dev/v1alpha1/namespaces/${NS}/containers`;

interface Mgr {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  exited: Promise<void>;
  out(): string;
}

const spawned = new Set<ChildProcess>();
const dirs: string[] = [];
process.on('exit', () => {
  for (const p of spawned) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startMgr(storeArgs: string[], reuse?: Mgr): Promise<Mgr> {
  const port = reuse?.port ?? (await freePort());
  const dataDir = reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'drover-store-bench-'));
  if (!reuse) dirs.push(dataDir);
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'manager', '--listen', `127.0.0.1:${port}`,
    '--data-dir', dataDir, '--rate-limit', '0', '--audit-log', 'off', ...storeArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DROVER_LOG_LEVEL: 'info' } });
  spawned.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((done) => proc.on('exit', () => { spawned.delete(proc); done(); }));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      if (i > 600) throw new Error(`manager did not start:\n${out}`);
    }
    if (proc.exitCode !== null) throw new Error(`manager exited:\n${out}`);
    await sleep(50);
  }
  return { url, port, dataDir, proc, exited, out: () => out };
}

function tokenOf(m: Mgr): string {
  const cfg = parse(readFileSync(join(m.dataDir, 'admin.config'), 'utf8'));
  return cfg.contexts.find((c: { name: string }) => c.name === cfg['current-context']).context.token as string;
}

function client(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await r.text();
        if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
      } catch (e) {
        // a keep-alive socket the server closed just as it was reused: resend once
        if (attempt === 0 && (e as { cause?: { code?: string } }).cause?.code === 'ECONNRESET') continue;
        throw e;
      }
    }
  };
}

const event = (name: string, label: string) => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name, namespace: NS, labels: { bench: label } },
  involvedObject: { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', name: NS }, reason: 'Bench', message: `store bench ${name}`, type: 'Normal',
  count: 1, source: { component: 'store-bench' },
});

async function writesPerSecond(call: ReturnType<typeof client>, tag: string): Promise<{ perSec: number; secs: number }> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < OBJECTS) {
      const i = next++;
      await call('POST', EVENTS, event(`${tag}-w-${i}`, 'writes'));
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { perSec: OBJECTS / secs, secs };
}

/** Paced creates on `writeUrl`; watchers spread over `watchUrls`. Latencies per watch URL. */
async function watchLatency(writeCall: ReturnType<typeof client>, watchUrls: string[], token: string, tag: string): Promise<Map<string, number[]>> {
  const sentAt = new Map<string, number>();
  const lat = new Map<string, number[]>(watchUrls.map((u) => [u, []]));
  const aborts: AbortController[] = [];
  let ready = 0;
  const streams = Array.from({ length: WATCHERS }, async (_, i) => {
    const u = watchUrls[i % watchUrls.length];
    const ac = new AbortController();
    aborts.push(ac);
    const r = await fetch(`${u}${EVENTS}?watch=true&labelSelector=bench%3D${tag}`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    ready++;
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line);
          const t0 = sentAt.get(ev.object?.metadata?.name);
          if (ev.type === 'ADDED' && t0 !== undefined) lat.get(u)!.push(performance.now() - t0);
        }
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  });
  while (ready < WATCHERS) await sleep(10);
  await sleep(200);
  for (let i = 0; i < PACED; i++) {
    const name = `${tag}-p-${i}`;
    sentAt.set(name, performance.now());
    await writeCall('POST', EVENTS, event(name, tag));
    await sleep(10);
  }
  const want = PACED * WATCHERS;
  const got = () => [...lat.values()].reduce((s, l) => s + l.length, 0);
  for (let i = 0; got() < want && i < 400; i++) await sleep(25);
  aborts.forEach((a) => a.abort());
  await Promise.allSettled(streams);
  for (const l of lat.values()) l.sort((a, b) => a - b);
  return lat;
}

/** Create a Container right away and wait until a controller has written its status. Returns ms since `t0`. */
async function controllerWriteAfter(t0: number, call: ReturnType<typeof client>, name: string, timeoutMs = 60_000): Promise<number> {
  const deadline = t0 + timeoutMs;
  for (;;) {
    try {
      await call('POST', CONTAINERS, {
        apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: NS },
        spec: { image: 'example/worker:1.0', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
      });
      break;
    } catch (e) {
      if (/HTTP 409/.test(String(e))) break; // the first try went through before its answer was lost
      if (performance.now() > deadline) throw e;
      await sleep(20); // the API itself may be restarting (SQLite): retry
    }
  }
  for (;;) {
    const c = await call('GET', `${CONTAINERS}/${name}`).catch(() => undefined);
    if (c?.status && Object.keys(c.status).length) return performance.now() - t0;
    if (performance.now() > deadline) throw new Error(`no controller wrote the status of ${name} within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const rows: Array<{ backend: string; writes: string; watch: string; failover: string }> = [];

for (const backend of BACKENDS) {
  let etcd: EtcdCluster | undefined;
  const mgrs: Mgr[] = [];
  try {
    if (backend === 'etcd') etcd = await startEtcdCluster({ members: 3, name: 'bench' });
    const storeArgs = (ttl?: number) => (etcd ? ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), ...(ttl ? ['--leader-lease-ttl', `${ttl}s`] : [])] : []);
    mgrs.push(await startMgr(storeArgs(TTLS[0])));
    const token = tokenOf(mgrs[0]);
    const leaderOf = async (m: Mgr) => (await client(m.url, token)('GET', '/leader')) as { isLeader: boolean; leader?: { url?: string } };
    if (etcd) {
      for (let i = 0; !(await leaderOf(mgrs[0]).catch(() => undefined))?.isLeader; i++) {
        if (i > 400) throw new Error('the first manager never became leader');
        await sleep(25);
      }
      mgrs.push(await startMgr(storeArgs(TTLS[0])));
    }
    const callA = client(mgrs[0].url, token);

    // 1. writes
    const w = await writesPerSecond(callA, backend);
    console.error(`${backend}: ${OBJECTS} creates in ${w.secs.toFixed(2)} s`);

    // 2. watch latency
    const lat = await watchLatency(callA, mgrs.map((m) => m.url), token, `${backend}w`);
    const all = [...lat.values()].flat().sort((a, b) => a - b);
    let watch = `p50 ${fmt(percentile(all, 50))} ms, p99 ${fmt(percentile(all, 99))} ms (${all.length}/${PACED * WATCHERS} delivered)`;
    if (etcd) {
      const same = lat.get(mgrs[0].url)!;
      const other = lat.get(mgrs[1].url)!;
      watch += `; watchers on the writing manager p99 ${fmt(percentile(same, 99))} ms, on the other manager p99 ${fmt(percentile(other, 99))} ms`;
    }
    console.error(`${backend}: watch ${watch}`);

    // 3. failover
    const results: string[] = [];
    const ttlList = etcd ? TTLS : [0];
    for (const ttl of ttlList) {
      if (etcd && ttl !== TTLS[0]) {
        // restart both managers with this TTL (the standby first, so the roles stay as they were)
        for (const m of [...mgrs].reverse()) {
          m.proc.kill('SIGTERM');
          await m.exited;
        }
        for (let i = 0; i < mgrs.length; i++) {
          mgrs[i] = await startMgr(storeArgs(ttl), mgrs[i]);
          if (i === 0) for (let k = 0; !(await leaderOf(mgrs[0]).catch(() => undefined))?.isLeader && k < 600; k++) await sleep(25);
        }
      }
      const times: number[] = [];
      for (let run = 0; run < FAILOVERS; run++) {
        // let the controllers settle: the leader must have been leading for a moment
        await sleep(1500);
        let leaderIdx = 0;
        if (etcd) {
          const l = await leaderOf(mgrs[0]);
          leaderIdx = mgrs.findIndex((m) => m.url === l.leader?.url);
          if (leaderIdx < 0) throw new Error(`cannot tell which manager leads: ${JSON.stringify(l)}`);
        }
        const victim = mgrs[leaderIdx];
        const survivor = etcd ? mgrs[1 - leaderIdx] : victim;
        victim.proc.kill('SIGKILL');
        const t0 = performance.now();
        await victim.exited;
        let restarted: Promise<Mgr> | undefined;
        if (!etcd) restarted = startMgr(storeArgs(), victim); // the supervisor restarts it at once
        const ms = await controllerWriteAfter(t0, client(survivor.url, token), `fo-${backend}-${ttl}-${run}`);
        times.push(ms);
        console.error(`${backend}${etcd ? ` ttl ${ttl}s` : ''}: failover ${run + 1}: ${(ms / 1000).toFixed(2)} s`);
        // bring the killed manager back (etcd: as the standby)
        mgrs[leaderIdx] = restarted ? await restarted : await startMgr(storeArgs(ttl), victim);
      }
      times.sort((a, b) => a - b);
      const med = times[Math.floor(times.length / 2)] / 1000;
      results.push(`${etcd ? `TTL ${ttl} s: ` : 'restart: '}${med.toFixed(2)} s (${(times[0] / 1000).toFixed(2)}–${(times[times.length - 1] / 1000).toFixed(2)})`);
    }
    rows.push({
      backend: etcd ? 'etcd 3.4, 3 members, 2 managers' : 'SQLite (WAL, synchronous=FULL), 1 manager',
      writes: `${w.perSec.toFixed(0)}/s (${OBJECTS} in ${w.secs.toFixed(1)} s)`,
      watch,
      failover: results.join('; '),
    });
  } finally {
    for (const m of mgrs) m.proc.kill('SIGKILL');
    await Promise.all(mgrs.map((m) => m.exited));
    await etcd?.stop();
  }
}

console.log(`machine: ${machine()}`);
console.log(`creates: ${OBJECTS} Events, ${IN_FLIGHT} in flight; watch: ${WATCHERS} watchers x ${PACED} paced creates; failover: median (min–max) of ${FAILOVERS}, kill -9 → first controller write`);
console.log('');
console.log('| store | writes (creates through the API) | watch latency (create → event at a client) | failover (kill -9 of the leader → controller write) |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.backend} | ${r.writes} | ${r.watch} | ${r.failover} |`);
process.exit(0);

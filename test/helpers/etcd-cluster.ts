// Test harness: a private etcd cluster (Debian's etcd-server, 1 or 3 members) on free loopback ports,
// data dirs in a temp dir. Members can be stopped and started again (same data dir) to test failover.
// Every cluster started here is stopped when the test file ends (a jest afterAll registered when this
// module is imported), even when a test failed, and SIGKILLed by pid if the process exits first.
// A member that lost quorum may ignore SIGTERM (STACK.md): stop is SIGTERM, then SIGKILL after 5 s.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { freePort, sleep } from './processes.ts';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export interface EtcdCluster {
  /** Client URLs of every member (running or not), e.g. `http://127.0.0.1:23790`. */
  endpoints: string[];
  /** Temp dir holding each member's data dir and log. */
  dir: string;
  size: number;
  /** pid of member i, or undefined while it is stopped. */
  pid(i: number): number | undefined;
  running(i: number): boolean;
  /** The tail of member i's log (for failure messages). */
  log(i: number, lines?: number): string;
  /** Stop member i: SIGTERM then SIGKILL after 5 s, or at once with `{ kill: true }`; its data dir stays. */
  stopMember(i: number, opts?: { kill?: boolean }): Promise<void>;
  /** Start a stopped member again with its data dir; resolves when it answers /health. */
  startMember(i: number): Promise<void>;
  /** Stop every member and remove the dirs; idempotent. */
  stop(): Promise<void>;
}

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  exitInfo?: string;
}

/** What the exit fallback kills and removes, shared by every copy of this module in the process. */
interface ExitRegistry { pids: Map<number, () => boolean>; dirs: Set<string> }

const clusters = new Set<EtcdCluster>();

// Jest: stop at the end of the test file, after a failed test too (root-level hook at import time).
const jestAfterAll = (globalThis as { afterAll?: (fn: () => Promise<void>, timeoutMs?: number) => void }).afterAll;
if (typeof jestAfterAll === 'function') jestAfterAll(cleanupEtcdClusters, 60_000);

// Last resort when the process exits without afterAll: synchronous SIGKILL by pid. Under jest
// `process` is a copy whose 'exit' never fires, so the listener goes on the host realm's process.
const registry = exitRegistry();

function exitRegistry(): ExitRegistry {
  let host: NodeJS.Process = process;
  try {
    const p = runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && p.pid === process.pid) host = p;
  } catch {
    // no separate host realm: `process` is the real one
  }
  const slot = host as unknown as Record<symbol, ExitRegistry | undefined>;
  const key = Symbol.for('drover.test.etcd-clusters');
  let r = slot[key];
  if (!r) {
    const reg: ExitRegistry = { pids: new Map(), dirs: new Set() };
    host.on('exit', () => {
      for (const [pid, alive] of reg.pids) {
        if (!alive()) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const d of reg.dirs) rmSync(d, { recursive: true, force: true });
    });
    r = slot[key] = reg;
  }
  return r;
}

/** Stop every cluster this process started (registered as a jest afterAll automatically). */
export async function cleanupEtcdClusters(): Promise<void> {
  const errors: unknown[] = [];
  for (const c of [...clusters]) {
    try {
      await c.stop();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) throw new Error(`etcd teardown failed:\n${errors.map(String).join('\n')}`);
}

export function findEtcd(): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    if (d && existsSync(join(d, 'etcd'))) return join(d, 'etcd');
  }
  return undefined;
}

/** Why a private etcd cannot run here, or undefined when it can. */
export function etcdAvailable(): string | undefined {
  return findEtcd() ? undefined : 'cannot start etcd: the etcd binary is missing; run ./scripts/ensure-etcd.sh as root (apt-get install -y etcd-server etcd-client)';
}

/** Start a cluster of `members` (1 or 3) and wait until every member is healthy. */
export async function startEtcdCluster(opts: { members?: number; name?: string } = {}): Promise<EtcdCluster> {
  const size = opts.members ?? 1;
  if (!Number.isInteger(size) || size < 1 || size > 7) throw new RangeError(`members must be 1…7, got ${size}`);
  const binary = findEtcd();
  if (!binary) throw new Error(etcdAvailable());
  // A free port may be taken between asking and binding (other tests run alongside): try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryStart(binary, size, opts.name ?? 'drv');
    } catch (e) {
      if (attempt >= 3 || !/address already in use/i.test(String((e as Error).message))) throw e;
    }
  }
}

async function tryStart(binary: string, size: number, tag: string): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), `drover-etcd-${tag.replace(/[^a-z0-9-]/gi, '')}-`));
  registry.dirs.add(dir);
  const members: Member[] = [];
  for (let i = 0; i < size; i++) {
    const [client, peer] = [await freePort(), await freePort()];
    mkdirSync(join(dir, `m${i}`), { recursive: true });
    members.push({
      name: `m${i}`, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`,
      dataDir: join(dir, `m${i}`, 'data'), logPath: join(dir, `m${i}`, 'etcd.log'),
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = `drover-${dir.slice(-6)}`;

  function launch(m: Member): void {
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      // No metrics/pprof listeners of its own; logs to the member's file.
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
    const fd = openSync(m.logPath, 'a');
    const env: NodeJS.ProcessEnv = {};
    // ETCD_* variables would override the flags above.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    m.child = child;
    m.exitInfo = undefined;
    const pid = child.pid ?? -1;
    let alive = pid > 0;
    registry.pids.set(pid, () => alive);
    m.exited = new Promise<void>((done) => {
      child.on('exit', (code, signal) => {
        alive = false;
        registry.pids.delete(pid);
        m.exitInfo = `code ${code}, signal ${signal}`;
        done();
      });
      child.on('error', (err) => {
        alive = false;
        registry.pids.delete(pid);
        m.exitInfo = String(err);
        done();
      });
    });
  }

  const tail = (i: number, lines = 30) => {
    try {
      return readFileSync(members[i].logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  async function waitHealthy(list: number[]): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const i of list) {
      const m = members[i];
      for (;;) {
        if (m.exitInfo !== undefined) throw new Error(`etcd member ${m.name} exited during start (${m.exitInfo}):\n${tail(i)}`);
        if (await healthy(m.clientUrl)) break;
        if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy within ${START_TIMEOUT_MS / 1000} s:\n${tail(i)}`);
        await sleep(50);
      }
    }
  }

  async function stopMember(i: number, o: { kill?: boolean } = {}): Promise<void> {
    const m = members[i];
    if (!m) throw new RangeError(`no member ${i}`);
    if (!m.child || m.exitInfo !== undefined) return;
    m.child.kill(o.kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => m.child?.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await m.exited;
    clearTimeout(timer);
    m.child = undefined;
  }

  let stopping: Promise<void> | undefined;
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientUrl),
    dir,
    size,
    pid: (i) => (members[i]?.child && members[i].exitInfo === undefined ? members[i].child!.pid : undefined),
    running: (i) => Boolean(members[i]?.child && members[i].exitInfo === undefined),
    log: tail,
    stopMember,
    async startMember(i) {
      const m = members[i];
      if (!m) throw new RangeError(`no member ${i}`);
      if (m.child && m.exitInfo === undefined) return;
      launch(m);
      await waitHealthy([i]);
    },
    stop() {
      stopping ??= (async () => {
        // One at a time: members stopped together lose quorum mid-shutdown and hang until SIGKILL.
        for (let i = 0; i < members.length; i++) await stopMember(i);
        await rm(dir, { recursive: true, force: true });
        registry.dirs.delete(dir);
        clusters.delete(cluster);
      })();
      return stopping;
    },
  };
  clusters.add(cluster);
  try {
    for (const m of members) launch(m);
    await waitHealthy(members.map((_, i) => i));
    return cluster;
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    throw e;
  }
}

/** GET /health answers {"health":"true"} once the member is part of a cluster with a leader. */
function healthy(url: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request(`${url}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => done(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
    req.end();
  });
}

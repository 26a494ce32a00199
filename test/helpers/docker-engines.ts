// Test harness: private Docker engines, one dockerd per "host", each with its own data root, exec
// root and unix socket under a short /tmp/drv-dk-* directory. Nothing is shared with a system
// docker, and no engine sends anything off loopback: dockerd's proxy is 127.0.0.1:9, which refuses,
// so a pull fails at once; dockerd runs in a mount namespace of its own whose /etc/resolv.conf
// names a loopback address where no DNS server answers (its containers get the same), and there
// are no bridge networks. Images come from `docker import` of a busybox-static root (TEST_IMAGE).
// Every engine started here is torn down when the test file ends (a jest afterAll registered when
// this module is imported), even when a test failed, and SIGKILLed by pid if the process exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { freePort, sleep } from './processes.ts';

export const TEST_IMAGE = 'drover-test:latest';
const BUSYBOX = '/usr/bin/busybox';
// Unix socket paths are limited to 107 bytes: keep engine directories short, directly in /tmp.
const BASE = '/tmp';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
// Pulls go to this proxy, which refuses connections: a pull fails on loopback.
const DEAD_PROXY = 'http://127.0.0.1:9';
// dockerd's and its containers' nameserver: a loopback address with no DNS server.
const DEAD_DNS = '127.0.0.9';

export interface DockerResult { code: number | null; stdout: string; stderr: string }

export interface DockerEngine {
  dir: string;
  socket: string;
  /** `unix:///…/docker.sock`, for DOCKER_HOST or `new Docker({ socketPath })`. */
  host: string;
  /** dockerd's pid. */
  pid: number;
  /** Run the docker CLI against this engine (DOCKER_HOST set); resolves when it exits. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<DockerResult>;
  /** Idempotent full teardown: leave the swarm, kill containers, stop dockerd, unmount, remove dir. */
  stop(): Promise<void>;
}

interface LiveEngine extends ExitRecord {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** What the exit fallback needs to kill and remove; shared by every copy of this module. */
interface ExitRecord {
  dir: string;
  /** dockerd's pid, and whether it still runs (once reaped, the pid may belong to anyone). */
  pid: number;
  alive(): boolean;
  /** Linux bridge behind this engine's docker_gwbridge network (swarm engines only). */
  gwBridge?: string;
}
interface ExitRegistry { engines: Set<ExitRecord>; clis: Set<ChildProcess>; dirs: Set<string> }

const engines = new Set<LiveEngine>();
let imageCache: { dir: string; tar: Promise<string> } | undefined;

// Jest: tear down at the end of the test file, after a failed test too. The hook is registered at
// import time (when the test file is collected), which is where jest allows root-level hooks.
const jestAfterAll = (globalThis as { afterAll?: (fn: () => Promise<void>, timeoutMs?: number) => void }).afterAll;
if (typeof jestAfterAll === 'function') jestAfterAll(cleanupEngines, 120_000);

// Last resort (the process exits without afterAll having run): synchronous, so SIGKILL by pid.
// Under jest `process` is a copy whose 'exit' event never fires (jest-util createProcessObject), so
// the listener goes on the host's process object; jest loads this module once per test file, so
// one listener and one registry are shared by all copies.
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
  const key = Symbol.for('drover.test.docker-engines');
  let r = slot[key];
  if (!r) {
    const reg: ExitRegistry = { engines: new Set(), clis: new Set(), dirs: new Set() };
    host.on('exit', () => {
      for (const c of reg.clis) c.kill('SIGKILL');
      for (const e of reg.engines) killEngineSync(e);
      for (const d of reg.dirs) rmSync(d, { recursive: true, force: true });
    });
    r = slot[key] = reg;
  }
  return r;
}

/** Stop every engine this process started (call from afterAll; also registered automatically). */
export async function cleanupEngines(): Promise<void> {
  const errors: unknown[] = [];
  for (const e of [...engines]) {
    try {
      await e.stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (imageCache && !engines.size) {
    const { dir } = imageCache;
    imageCache = undefined;
    registry.dirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
  }
  if (errors.length) throw new Error(`docker engine teardown failed:\n${errors.map(String).join('\n')}`);
}

/** Why private engines cannot run here (missing packages, not root), or undefined when they can. */
export function dockerAvailable(): string | undefined {
  const hint = 'run ./scripts/ensure-docker.sh as root (or `make docker-deps`)';
  const missing: string[] = [];
  if (!findExecutable('dockerd')) missing.push('dockerd (package docker.io)');
  if (!findExecutable('docker')) missing.push('the docker CLI (package docker.io)');
  if (!findExecutable('unshare')) missing.push('unshare (package util-linux)');
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (package busybox-static)`);
  else if (!isStaticElf(BUSYBOX)) missing.push(`a static ${BUSYBOX} (it is dynamically linked; package busybox-static)`);
  if (missing.length) return `cannot start private Docker engines: missing ${missing.join(', ')}; ${hint}`;
  if (process.getuid?.() !== 0) return 'cannot start private Docker engines: dockerd needs root and this test runs as a non-root user';
  return undefined;
}

/** Start several engines one after another (gentle on small machines). */
export async function startEngines(n: number, opts: { swarm?: boolean } = {}): Promise<DockerEngine[]> {
  const out: DockerEngine[] = [];
  for (let i = 0; i < n; i++) out.push(await startEngine({ ...opts, name: `e${i}` }));
  return out;
}

/**
 * Start a private dockerd, wait for /_ping, import TEST_IMAGE into it and, with `swarm`, make it a
 * single-node swarm manager listening on a free 127.0.0.1 port.
 */
export async function startEngine(opts: { name?: string; swarm?: boolean } = {}): Promise<DockerEngine> {
  const reason = dockerAvailable();
  if (reason) throw new Error(reason);
  const tag = (opts.name ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 16);
  const dir = mkdtempSync(join(BASE, tag ? `drv-dk-${tag}-` : 'drv-dk-'));
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const logPath = join(dir, 'dockerd.log');
  const logFd = openSync(logPath, 'a');
  const dockerdArgs = [
    '-H', host, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'),
    '--bridge=none', '--iptables=false', '--ip-masq=false',
    // Before a pull from Docker Hub, dockerd resolves "docker.io" (registry/config.go:
    // allowNondistributableArtifacts → isCIDRMatch → lookupIP) even though the pull itself then
    // goes to the proxy. Naming the host here skips that lookup.
    '--allow-nondistributable-artifacts', 'docker.io',
    // Containers (host network included) get a loopback resolver where nothing answers.
    '--dns', DEAD_DNS,
  ];
  // dockerd runs in a mount namespace of its own (propagation slave: it sees the host's mounts,
  // the host does not see its mounts) where /etc/resolv.conf names DEAD_DNS. So any name dockerd
  // still resolves (a pull from quay.io/…, say) fails on loopback instead of asking the machine's
  // DNS server, and its mounts (overlay, netns, the data-root bind) vanish with its processes.
  // unshare and sh exec, so the child's pid is dockerd's.
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, `nameserver ${DEAD_DNS}\noptions timeout:1 attempts:1\n`);
  const script = 'if [ -e /etc/resolv.conf ]; then mount --bind "$1" /etc/resolv.conf || exit 97; fi; shift; exec "$@"';
  const child = spawn(findExecutable('unshare')!, ['--mount', '--propagation', 'slave', '--', '/bin/sh', '-c', script, 'sh', resolv, findExecutable('dockerd')!, ...dockerdArgs], {
    env: daemonEnv(), stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exitCode: number | null | undefined;
  let exitSignal: string | null = null;
  const exited = new Promise<void>((done) => child.on('exit', (code, signal) => { exitCode = code; exitSignal = signal; done(); }));
  // A failed spawn emits 'error' (and no 'exit' when there is no pid).
  child.on('error', (err) => { if (exitCode === undefined) { exitCode = -1; exitSignal = String(err); } });

  let stopping: Promise<void> | undefined;
  const live: LiveEngine = { dir, pid: child.pid ?? -1, child, alive: () => exitCode === undefined, stop: () => (stopping ??= teardown()) };
  engines.add(live);
  registry.engines.add(live);
  const cliEnv = cliEnvFor(host, dir);
  const docker = (args: string[], o: { input?: string; timeoutMs?: number } = {}) => runDocker(args, cliEnv, o);

  async function teardown(): Promise<void> {
    const problems: string[] = [];
    if (exitCode === undefined) {
      // A hung daemon (it does not answer /_ping) gets no API calls: straight to the signals.
      const responsive = await ping(socket);
      if (responsive) {
        if (opts.swarm) {
          await docker(['swarm', 'leave', '--force'], { timeoutMs: 20_000 });
          await docker(['network', 'rm', 'docker_gwbridge'], { timeoutMs: 5_000 });
        }
        // Kill containers first: on SIGTERM dockerd would give each one its stop timeout (10 s).
        await killAllContainers(socket).catch(() => undefined);
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), responsive ? STOP_TIMEOUT_MS : 2_000);
      await exited;
      clearTimeout(timer);
    }
    // After a clean exit there is nothing left; after a SIGKILL (or a crash) containerd, the shims
    // and their containers may be: they all name a path in this directory or descend from what does.
    // (dockerd's own pid is not used again here: it has been reaped and may belong to another process.)
    let left = processTree(pidsMentioning(dir + '/'));
    if (left.length) {
      const deadline = Date.now() + (exitSignal === 'SIGKILL' ? 0 : 2_000);
      while (left.length && Date.now() < deadline) { await sleep(50); left = processTree(pidsMentioning(dir + '/')); }
      for (const p of left) killPid(p, 'SIGKILL');
      const gone = Date.now() + 5_000;
      while ((left = left.filter(processRunning)).length && Date.now() < gone) await sleep(50);
      if (left.length) problems.push(`processes still alive after SIGKILL: ${left.join(', ')}`);
    }
    if (live.gwBridge) deleteLink(live.gwBridge);
    const stuck = await unmountAll(dir);
    if (stuck.length) problems.push(`could not unmount ${stuck.join(', ')}`);
    else await rm(dir, { recursive: true, force: true });
    engines.delete(live);
    registry.engines.delete(live);
    if (problems.length) throw new Error(`teardown of docker engine ${dir}: ${problems.join('; ')}`);
  }

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exitCode !== undefined) throw new Error(`dockerd exited during start (code ${exitCode}, signal ${exitSignal})`);
      if (await ping(socket)) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer /_ping within ${START_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
    const engine: DockerEngine = { dir, socket, host, pid: live.pid, docker, stop: live.stop };
    await buildTestImage(engine);
    if (opts.swarm) await initSwarm(engine, live);
    return engine;
  } catch (err) {
    const log = tail(logPath, 40);
    await live.stop().catch(() => undefined);
    throw new Error(`private docker engine in ${dir} failed to start: ${(err as Error).message}\n--- dockerd.log (tail) ---\n${log}`);
  }
}

/** Import TEST_IMAGE (busybox-static root; PATH=/bin, CMD /bin/sh) into the engine. */
export async function buildTestImage(engine: Pick<DockerEngine, 'docker'>): Promise<void> {
  const tar = await rootfsTar();
  const r = await engine.docker(['import', '-c', 'ENV PATH=/bin', '-c', 'CMD ["/bin/sh"]', tar, TEST_IMAGE], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`docker import ${TEST_IMAGE} failed (${r.code}): ${r.stderr.trim()}`);
}

/** Pids (not zombies) of processes whose command line contains `text`, e.g. an engine's dir. */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && processRunning(pid)) out.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Mount points at or under `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const p = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p === dir || p.startsWith(dir + '/')) points.push(p);
  }
  return points.sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

// ---------------------------------------------------------------------------------------------

async function initSwarm(engine: DockerEngine, live: LiveEngine): Promise<void> {
  // Swarm creates docker_gwbridge on the host; give it a bridge name of its own so engines do not
  // share (and delete) one Linux interface, and no NAT: these engines have no iptables rules.
  const gw = `drvgw${engine.dir.slice(-6)}`;
  let r = await engine.docker([
    'network', 'create', '--driver', 'bridge',
    '--opt', `com.docker.network.bridge.name=${gw}`,
    '--opt', 'com.docker.network.bridge.enable_icc=false',
    '--opt', 'com.docker.network.bridge.enable_ip_masquerade=false',
    'docker_gwbridge',
  ]);
  if (r.code !== 0) throw new Error(`creating docker_gwbridge failed: ${r.stderr.trim()}`);
  live.gwBridge = gw;
  // Every swarm listens on its own loopback port (the default 0.0.0.0:2377 would clash).
  const port = await freePort();
  r = await engine.docker(['swarm', 'init', '--advertise-addr', `127.0.0.1:${port}`, '--listen-addr', `127.0.0.1:${port}`], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`docker swarm init failed: ${r.stderr.trim()}`);
}

function runDocker(args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; timeoutMs?: number }): Promise<DockerResult> {
  return new Promise((done) => {
    const child = spawn('docker', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    registry.clis.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { stderr += `\n(killed after ${opts.timeoutMs ?? 60_000} ms)`; child.kill('SIGKILL'); }, opts.timeoutMs ?? 60_000);
    const finish = (code: number | null) => { clearTimeout(t); registry.clis.delete(child); done({ code, stdout, stderr }); };
    child.on('error', (err) => { stderr += String(err); finish(-1); });
    child.on('exit', (code) => finish(code));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

function daemonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(https?_proxy|no_proxy|all_proxy)$/i.test(k)) delete env[k];
  return {
    ...env,
    PATH: withSbin(env.PATH),
    HTTPS_PROXY: DEAD_PROXY, HTTP_PROXY: DEAD_PROXY, NO_PROXY: '',
    https_proxy: DEAD_PROXY, http_proxy: DEAD_PROXY, no_proxy: '',
  };
}

function cliEnvFor(host: string, dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // These would override DOCKER_HOST or point the CLI at TLS material or another endpoint.
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'DOCKER_CLI_OTEL_EXPORTER_OTLP_ENDPOINT']) delete env[k];
  return { ...env, PATH: withSbin(env.PATH), DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'cli'), DOCKER_CLI_HINTS: 'false' };
}

function withSbin(path: string | undefined): string {
  const parts = (path ?? '').split(delimiter).filter(Boolean);
  for (const p of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!parts.includes(p)) parts.push(p);
  return parts.join(delimiter);
}

function findExecutable(name: string): string | undefined {
  for (const d of withSbin(process.env.PATH).split(delimiter)) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** An ELF file without a PT_INTERP program header needs no dynamic loader. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(64 * 1024);
    const n = readSync(fd, b);
    if (n < 64 || b.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = b[4] === 2;
    const le = b[5] === 1;
    const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? b.readBigUInt64LE(0x20) : b.readBigUInt64BE(0x20)) : u32(0x1c);
    const phentsize = u16(is64 ? 0x36 : 0x2a);
    const phnum = u16(is64 ? 0x38 : 0x2c);
    if (phoff + phentsize * phnum > n) return false;
    for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

function rootfsTar(): Promise<string> {
  if (imageCache) return imageCache.tar;
  const dir = mkdtempSync(join(BASE, 'drv-img-'));
  const tar = (async () => {
    const root = join(dir, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    const list = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' });
    if (list.status !== 0) throw new Error(`${BUSYBOX} --list failed: ${list.stderr}`);
    for (const applet of list.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
      if (applet !== 'busybox' && !applet.includes('/')) symlinkSync('busybox', join(root, 'bin', applet));
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const out = join(dir, 'rootfs.tar');
    const t = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', out, '.'], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`tar of the test rootfs failed: ${t.stderr}`);
    return out;
  })();
  imageCache = { dir, tar };
  registry.dirs.add(dir);
  // A failed build is retried by the next caller.
  tar.catch(() => { if (imageCache?.tar === tar) { imageCache = undefined; registry.dirs.delete(dir); rmSync(dir, { recursive: true, force: true }); } });
  return tar;
}

function ping(socket: string): Promise<boolean> {
  return engineRequest(socket, 'GET', '/_ping', 2_000).then((r) => r.status === 200 && r.body === 'OK', () => false);
}

async function killAllContainers(socket: string): Promise<void> {
  const r = await engineRequest(socket, 'GET', '/containers/json', 10_000);
  if (r.status !== 200) return;
  const ids = (JSON.parse(r.body) as Array<{ Id: string }>).map((c) => c.Id);
  await Promise.all(ids.map((id) => engineRequest(socket, 'POST', `/containers/${id}/kill`, 10_000).catch(() => undefined)));
}

function engineRequest(socket: string, method: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: socket, method, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', fail);
    req.end();
  });
}

/** Unmount everything at or under dir (deepest first, lazily if busy); returns what is left. */
async function unmountAll(dir: string): Promise<string[]> {
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (!points.length) return [];
    for (const p of points) {
      if ((await run('umount', [p])) !== 0) await run('umount', ['-l', p]);
    }
  }
  return mountsUnder(dir);
}

function run(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((done) => {
    const c = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, PATH: withSbin(process.env.PATH) } });
    c.on('error', () => done(-1));
    c.on('exit', (code) => done(code));
  });
}

function deleteLink(name: string): void {
  if (existsSync(`/sys/class/net/${name}`)) spawnSync('ip', ['link', 'delete', name], { stdio: 'ignore', env: { ...process.env, PATH: withSbin(process.env.PATH) } });
}

/** Synchronous teardown for process exit: SIGKILL by pid, lazy unmount, remove the directory. */
function killEngineSync(e: ExitRecord): void {
  const pids = processTree([...(e.alive() ? [e.pid] : []), ...pidsMentioning(e.dir + '/')]);
  for (const p of pids) killPid(p, 'SIGKILL');
  const deadline = Date.now() + 2_000;
  while (pids.some(processRunning) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  if (e.gwBridge) deleteLink(e.gwBridge);
  for (const p of mountsUnder(e.dir)) spawnSync('umount', ['-l', p], { stdio: 'ignore', env: { ...process.env, PATH: withSbin(process.env.PATH) } });
  if (!mountsUnder(e.dir).length) rmSync(e.dir, { recursive: true, force: true });
}

/** The given live pids and all their live descendants. */
function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = statOf(Number(name))?.ppid;
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const seen = new Set<number>();
  const stack = roots.filter((p) => p > 0);
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...(children.get(p) ?? []));
  }
  seen.delete(process.pid);
  return [...seen].filter(processRunning);
}

function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/**
 * Alive and not a zombie. containerd-shims are reparented to pid 1, which may reap them late (in
 * this sandbox it does), so `kill(pid, 0)` can still succeed for an exited shim.
 */
export function processRunning(pid: number): boolean {
  const s = statOf(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

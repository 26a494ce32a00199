// Test harness: start the real manager as a process on a loopback port and drive the real CLI.
// Every process started here is killed when the test file ends, even when a test failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInThisContext } from 'node:vm';
import { parse } from 'yaml';
import { fetchTrusting } from '../../core/client.ts';

export const REPO = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];
const tempDirs: string[] = [];

/**
 * Children to SIGKILL if the worker exits without cleanup() having run. Under jest, `process` is a copy
 * whose 'exit' event never fires, so the listener goes on the host realm's process object, once per worker.
 */
const live: Set<ChildProcess> = (() => {
  let host: NodeJS.Process = process;
  try {
    const p = runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && p.pid === process.pid) host = p;
  } catch {
    // no separate realm: `process` is the real one
  }
  const slot = host as unknown as Record<symbol, Set<ChildProcess> | undefined>;
  const key = Symbol.for('drover.test.processes');
  let set = slot[key];
  if (!set) {
    const children = new Set<ChildProcess>();
    host.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
    set = slot[key] = children;
  }
  return set;
})();

/** Kill `child` with everything else this file started: in cleanup(), or when the worker exits. */
export function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function tempDir(prefix = 'drover-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

export interface ManagerProcess {
  url: string;
  token: string;
  dataDir: string;
  /** CLI config written by the manager (mode 0600) — point DROVER_CONFIG at it. */
  configPath: string;
  /** With tls: the manager's CA (PEM); api() trusts it. */
  ca?: string;
  pid: number;
  output(): string;
  /** SIGKILL, no cleanup: what a crash looks like. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export async function startManager(opts: { dataDir?: string; port?: number; extraArgs?: string[]; env?: Record<string, string>; tls?: boolean } = {}): Promise<ManagerProcess> {
  const dataDir = opts.dataDir ?? tempDir('drover-mgr-');
  const port = opts.port ?? (await freePort());
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const caFile = join(dataDir, 'tls', 'ca.crt'); // written before the manager listens
  const tlsArgs = opts.tls ? ['--tls'] : [];
  const child = spawn(process.execPath, [...NODE_ARGS, join(REPO, 'cli/main.ts'), 'manager', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...tlsArgs, ...(opts.extraArgs ?? [])], {
    cwd: REPO,
    env: { ...process.env, DROVER_LOG_LEVEL: process.env.DROVER_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => { live.delete(child); done(code); }));
  let dead = false;
  void exited.then(() => (dead = true));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dead) throw new Error(`manager exited before it was ready:\n${out}`);
    try {
      const r = await transport(opts.tls ? readFileSync(caFile, 'utf8') : undefined)(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet: retry below
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`manager not ready within 30s:\n${out}`);
    }
    await sleep(50);
  }
  const configPath = join(dataDir, 'admin.config');
  const cfg = parse(readFileSync(configPath, 'utf8'));
  const token = cfg.contexts.find((c: { name: string }) => c.name === cfg['current-context']).context.token as string;
  return {
    url, token, dataDir, configPath, pid: child.pid!, exited, ...(opts.tls ? { ca: readFileSync(caFile, 'utf8') } : {}),
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (dead) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Run the real CLI (bin/drover) with a config file; resolves when it exits. */
export function drover(args: string[], opts: { config: string; input?: string; env?: Record<string, string>; timeoutMs?: number; cwd?: string }): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(join(REPO, 'bin/drover'), args, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, DROVER_CONFIG: opts.config, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      live.delete(child);
      done({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running CLI command (e.g. `get -w`) whose output is read while it runs. */
export function droverStream(args: string[], opts: { config: string; env?: Record<string, string> }) {
  const child = spawn(join(REPO, 'bin/drover'), args, {
    cwd: REPO,
    env: { ...process.env, DROVER_CONFIG: opts.config, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => { live.delete(child); done(code); }));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /** Wait until stdout matches, or fail with what was printed. */
    async waitFor(want: RegExp | ((stdout: string) => boolean), timeoutMs = 15_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      const ok = typeof want === 'function' ? want : (s: string) => want.test(s);
      while (!ok(stdout)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${want} in output:\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr}`);
        await sleep(25);
      }
      return stdout;
    },
    async stop(): Promise<number | null> {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

const trusting = new Map<string, typeof fetch>();
/** Node's fetch, or one trusting only `ca` (one connection pool per CA). */
function transport(ca: string | undefined): typeof fetch {
  if (!ca) return fetch;
  if (!trusting.has(ca)) trusting.set(ca, fetchTrusting(ca));
  return trusting.get(ca)!;
}

export async function api(m: { url: string; token: string; ca?: string }, method: string, path: string, body?: unknown, contentType = 'application/json') {
  const r = await transport(m.ca)(m.url + path, {
    method,
    headers: { authorization: `Bearer ${m.token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Kill everything this file started and remove temp dirs (call from afterAll). */
export async function cleanup(): Promise<void> {
  for (const p of [...live]) {
    p.kill('SIGKILL');
  }
  // Docker node agents start a detached node watchdog (agent/docker/watchdog.ts); it is ours too.
  for (const d of tempDirs) {
    try {
      const pid = Number(readFileSync(join(d, 'watchdog', 'pid'), 'utf8').trim());
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent-watchdog')) process.kill(pid, 'SIGKILL');
    } catch {
      // no watchdog, or already gone
    }
  }
  await sleep(50);
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface AgentProcess {
  name: string;
  dataDir: string;
  pid: number;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Start a real node agent (`drover agent`, process runtime) against `server` (the manager or a proxy in front
 * of it) and wait until its Node reports Ready=True to the manager `m`.
 */
export async function startNodeAgent(
  m: { url: string; token: string },
  opts: { name: string; namespace: string; server?: string; joinToken?: string; dataDir?: string; labels?: string; extraArgs?: string[]; env?: Record<string, string>; waitReady?: boolean },
): Promise<AgentProcess> {
  const dataDir = opts.dataDir ?? tempDir(`drover-agent-${opts.name}-`);
  const args = [...NODE_ARGS, join(REPO, 'cli/main.ts'), 'agent', '--server', opts.server ?? m.url, '--name', opts.name, '--runtime', 'process', '--data-dir', dataDir, '--listen', '127.0.0.1:0'];
  if (opts.joinToken) args.push('--join-token', opts.joinToken);
  if (opts.labels) args.push('--labels', opts.labels);
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, DROVER_LOG_LEVEL: 'debug', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => { live.delete(child); done(code); }));
  let dead = false;
  void exited.then(() => (dead = true));
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (dead) throw new Error(`agent ${opts.name} exited before its Node was Ready:\n${out}`);
      const r = await api(m, 'GET', `/apis/drover.dev/v1alpha1/namespaces/${opts.namespace}/nodes/${opts.name}`);
      const ready = r.status === 200 && r.body.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`node ${opts.name} not Ready within 30s:\n${out.slice(-5000)}`);
      await sleep(100);
    }
  }
  return {
    name: opts.name, dataDir, pid: child.pid!, exited,
    output: () => out,
    async kill9() { child.kill('SIGKILL'); await exited; },
    async stop() {
      if (dead) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Poll `fn` until it returns a truthy value (returned), or fail after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Shared bits of the benchmarks: a real manager process on a free loopback port, and a tiny API client.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const REPO = resolve(import.meta.dirname, '..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
}

export interface Bench {
  url: string;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  spawned: ChildProcess[];
  call(method: string, path: string, body?: unknown, token?: string, contentType?: string): Promise<any>;
  stop(): void;
}

export async function startBenchManager(): Promise<Bench> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-bench-'));
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [...(process.env.DROVER_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.DROVER_BENCH_PROF] : []), '--disable-warning=ExperimentalWarning', join(REPO, 'cli/main.ts'), 'manager', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--rate-limit', '0'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DROVER_LOG_LEVEL: 'warn' },
  });
  const spawned: ChildProcess[] = [proc];
  const stop = () => {
    // SIGTERM first so a profiled manager (DROVER_BENCH_PROF) can write its profile
    for (const p of spawned) p.kill(p === proc && process.env.DROVER_BENCH_PROF ? 'SIGTERM' : 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      if (i > 600) throw new Error('manager did not start');
    }
    await sleep(50);
  }
  const cfg = parse(readFileSync(join(dataDir, 'admin.config'), 'utf8'));
  const token = cfg.contexts[0].context.token as string;
  const call = async (method: string, path: string, body?: unknown, tok = token, contentType = 'application/json') => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${tok}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return { url, token, dataDir, proc, spawned, call, stop };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

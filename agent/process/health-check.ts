// Container health checks (spec.healthCheck): http / tcp against the node's loopback, or a command
// run in the working directory; Starting → Healthy / Unhealthy after `retries` consecutive failures.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { formatDuration, parseDuration } from '../../core/duration.ts';
import type { HealthState } from '../runtime.ts';
import { resolveCommand } from './spawn-command.ts';
import { killGroup } from './process-group.ts';

export type Probe =
  | { kind: 'http'; path: string; port: number; scheme: 'HTTP' | 'HTTPS' }
  | { kind: 'tcp'; port: number }
  | { kind: 'exec'; command: string[] };

export interface HealthCheck {
  probe: Probe;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface ProbeContext {
  host: string;
  cwd: string;
  env: Record<string, string>;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** spec.healthCheck → a HealthCheck, with the CRD defaults for anything unset; undefined without one. */
export function parseHealthCheck(spec: unknown): HealthCheck | undefined {
  if (!spec || typeof spec !== 'object') return undefined;
  const s = spec as Record<string, any>;
  let probe: Probe;
  if (s.http) probe = { kind: 'http', path: s.http.path ?? '/', port: Number(s.http.port), scheme: s.http.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP' };
  else if (s.tcp) probe = { kind: 'tcp', port: Number(s.tcp.port) };
  else if (Array.isArray(s.exec?.command) && s.exec.command.length) probe = { kind: 'exec', command: s.exec.command.map(String) };
  else return undefined;
  return {
    probe,
    intervalMs: parseDuration(s.interval ?? '10s'),
    timeoutMs: parseDuration(s.timeout ?? '2s'),
    retries: Math.max(1, Number(s.retries ?? 3)),
    startPeriodMs: parseDuration(s.startPeriod ?? '0s'),
  };
}

export interface HealthProgress {
  health: HealthState;
  failures: number;
}

/** One probe result applied to the current health (pure). Failures inside the start period do not count. */
export function nextHealth(cur: HealthProgress, ok: boolean, inStartPeriod: boolean, retries: number): HealthProgress {
  if (ok) return { health: 'Healthy', failures: 0 };
  if (inStartPeriod && cur.health === 'Starting') return cur;
  const failures = cur.failures + 1;
  return { health: failures >= retries ? 'Unhealthy' : cur.health, failures };
}

export function runProbe(probe: Probe, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http': return httpProbe(probe, ctx.host, timeoutMs);
    case 'tcp': return tcpProbe(probe.port, ctx.host, timeoutMs);
    case 'exec': return execProbe(probe.command, ctx, timeoutMs);
  }
}

function httpProbe(p: Extract<Probe, { kind: 'http' }>, host: string, timeoutMs: number): Promise<ProbeResult> {
  const url = `${p.scheme.toLowerCase()}://${host}:${p.port}${p.path.startsWith('/') ? '' : '/'}${p.path}`;
  const request = p.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  return new Promise((done) => {
    // Like Kubernetes, an HTTPS probe does not verify the certificate: it checks liveness, not identity.
    const req = request(url, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false, headers: { 'user-agent': 'drover-health-check' } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done({ ok: code >= 200 && code < 400, message: `GET ${url}: HTTP ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${formatDuration(timeoutMs)}`)));
    req.on('error', (err) => done({ ok: false, message: `GET ${url}: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(port: number, host: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((done) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      done({ ok: true, message: `tcp ${host}:${port}: connected` });
    });
    sock.once('timeout', () => sock.destroy(new Error(`timed out after ${formatDuration(timeoutMs)}`)));
    sock.once('error', (err) => done({ ok: false, message: `tcp ${host}:${port}: ${err.message}` }));
  });
}

function execProbe(command: string[], ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  let file: string;
  try {
    file = resolveCommand(command[0], ctx.env.PATH, ctx.cwd);
  } catch (err) {
    return Promise.resolve({ ok: false, message: `exec ${command[0]}: ${(err as Error).message}` });
  }
  return new Promise((done) => {
    const child = spawn(file, command.slice(1), { cwd: ctx.cwd, env: ctx.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer) => (out = (out + b.toString()).slice(-512));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      done({ ok: false, message: `exec ${command[0]}: ${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const tail = out.trim() ? `: ${out.trim()}` : '';
      if (timedOut) done({ ok: false, message: `exec ${command[0]}: timed out after ${formatDuration(timeoutMs)}` });
      else done({ ok: code === 0, message: `exec ${command[0]}: exit code ${code}${tail}` });
    });
  });
}

export interface HealthMonitorOptions {
  check: HealthCheck;
  clock: Clock;
  ctx: ProbeContext;
  /** Delay before the first probe, at most the interval (default 1 s: dependants should not wait a full interval). */
  firstProbeMs?: number;
  onChange: (health: HealthState, message: string) => void;
}

/** Probes one running process every interval; start() again after each (re)spawn. */
export class HealthMonitor {
  health: HealthState = 'Starting';
  message: string | undefined;
  private readonly o: HealthMonitorOptions;
  private progress: HealthProgress = { health: 'Starting', failures: 0 };
  private startedAtMs = 0;
  private round = 0;
  private timer: TimerHandle | undefined;

  constructor(opts: HealthMonitorOptions) {
    this.o = opts;
  }

  start(): void {
    this.stop();
    this.progress = { health: 'Starting', failures: 0 };
    this.health = 'Starting';
    this.message = undefined;
    this.startedAtMs = this.o.clock.now();
    this.schedule(Math.min(this.o.check.intervalMs, this.o.firstProbeMs ?? 1000));
  }

  stop(): void {
    this.round++;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    const round = this.round;
    this.timer = this.o.clock.setTimeout(() => void this.tick(round), ms);
  }

  private async tick(round: number): Promise<void> {
    const { check, clock } = this.o;
    const result = await runProbe(check.probe, this.o.ctx, check.timeoutMs);
    // A probe that outlived a restart or stop says nothing about the new process.
    if (round !== this.round) return;
    const inStartPeriod = clock.now() - this.startedAtMs < check.startPeriodMs;
    const before = this.progress.health;
    this.progress = nextHealth(this.progress, result.ok, inStartPeriod, check.retries);
    this.health = this.progress.health;
    if (!result.ok) this.message = `health check failed (${this.progress.failures}/${check.retries}): ${result.message}`;
    else this.message = undefined;
    this.schedule(check.intervalMs);
    if (this.health !== before) this.o.onChange(this.health, result.message);
  }
}

// The process runtime: a Container is a supervised process group in a working directory under the
// agent's data dir; the agents inside it are further supervised children. Nothing to install.
//
// Agent restarts: processes are not adopted across agent runs. With pdeathsig the kernel kills
// each group leader when the agent dies; recover() reaps whatever else a previous run left and
// returns [], so the node agent deploys its containers again (the Docker runtime adopts instead).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { realClock, type Clock } from '../core/clock.ts';
import { Conflict, Invalid, NotFound } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import { HealthMonitor, parseHealthCheck, type HealthCheck } from './process/health-check.ts';
import { DEFAULT_TAIL_BYTES, RotatingLog, tailFiles, type RotatingLogOptions } from './process/log-files.ts';
import { reapStaleGroup, type PidRecord } from './process/process-group.ts';
import {
  formatCpuUsage, formatMemoryUsage, groupUsage, listProcesses, readCpuTimes, readMemoryUsed,
  type CpuTimes, type GroupSample, type ProcStat,
} from './process/proc-usage.ts';
import { DEFAULT_BACKOFF, parseRestartPolicy, type BackoffPolicy, type RestartPolicy } from './process/restart-policy.ts';
import { buildEnv, resolveCommand, setprivAvailable, type EnvVar } from './process/spawn-command.ts';
import { Supervisor, type ChangeKind } from './process/supervisor.ts';
import type {
  AgentInfo, AgentRequest, ContainerInfo, ContainerRequest, ContainerRuntime, HealthState, RuntimeEvent, RuntimeInfo,
} from './runtime.ts';

export const HOST_PROCESS_SCRIPT = join(import.meta.dirname, 'process', 'host-process.ts');
const DEFAULT_GRACE_SECONDS = 10;
/** /proc is scanned at most this often, however often list() is called. */
const USAGE_TTL_MS = 1000;

export interface ProcessRuntimeOptions {
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  /** Handed to workloads as DROVER_NODE_ADDRESS (default 127.0.0.1). Health checks always use 127.0.0.1. */
  nodeAddress?: string;
  /** Crash-loop back-off (tests shorten it). */
  backoff?: Partial<BackoffPolicy>;
  /** Log rotation (default 5 MiB × 3 files). */
  log?: RotatingLogOptions;
  /** Wrap spawns in `setpriv --pdeathsig KILL` (default: when /usr/bin/setpriv exists). */
  pdeathsig?: boolean;
  /** Delay before a container's first health probe (default min(interval, 1s)). */
  healthFirstProbeMs?: number;
}

interface ContainerEntry {
  key: string;
  req: ContainerRequest;
  dir: string;
  workDir: string;
  env: Record<string, string>;
  restartPolicy: RestartPolicy;
  graceMs: number;
  log: RotatingLog;
  sup: Supervisor;
  check?: HealthCheck;
  health?: HealthMonitor;
  usage?: { cpu: string; memory: string };
  usageAt: number;
  sample?: GroupSample;
}

interface AgentEntry {
  key: string;
  containerKey: string;
  req: AgentRequest;
  log: RotatingLog;
  sup: Supervisor;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function createProcessRuntime(opts: ProcessRuntimeOptions): ContainerRuntime {
  return new ProcessRuntime(opts);
}

class ProcessRuntime implements ContainerRuntime {
  private readonly o: ProcessRuntimeOptions;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly pdeathsig: boolean;
  private readonly root: string;
  private readonly containers = new Map<string, ContainerEntry>();
  private readonly agents = new Map<string, AgentEntry>();
  private readonly handlers = new Set<(ev: RuntimeEvent) => void>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private scan: { at: number; groups: Map<number, ProcStat[]> } | undefined;
  private prevCpu: CpuTimes | undefined;
  private closed = false;

  constructor(opts: ProcessRuntimeOptions) {
    this.o = opts;
    this.clock = opts.clock ?? realClock;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.pdeathsig = opts.pdeathsig ?? setprivAvailable();
    this.root = join(resolve(opts.dataDir), 'containers');
  }

  info(): RuntimeInfo {
    return { type: 'process', version: process.versions.node };
  }

  async recover(): Promise<ContainerInfo[]> {
    const ours = new Set([...this.containers.values(), ...this.agents.values()].map((e) => e.sup.pid));
    for (const file of this.stateFiles()) {
      let rec: PidRecord;
      try {
        rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
      } catch (err) {
        this.o.logger.warn('unreadable process state file removed', { file, error: String(err) });
        rmSync(file, { force: true });
        continue;
      }
      if (ours.has(rec.pid)) continue;
      const killed = reapStaleGroup(rec);
      if (killed.length) this.o.logger.warn('killed processes left by a previous agent run', { workload: rec.what, pids: killed });
      rmSync(file, { force: true });
    }
    return [];
  }

  deploy(req: ContainerRequest): Promise<ContainerInfo> {
    const key = keyOf(req.namespace, req.name);
    return this.serial(key, async () => {
      this.assertOpen();
      const cur = this.containers.get(key);
      if (cur && cur.req.uid === req.uid && cur.req.generation === req.generation) {
        if (!cur.sup.active) await this.startEntry(cur);
        return this.containerInfo(cur);
      }
      // A new generation (or a recreated object) replaces the running instance: stop, then start anew.
      if (cur) {
        await this.stopEntry(cur, cur.graceMs);
        cur.log.close();
        this.containers.delete(key);
      }
      const entry = this.createEntry(req);
      this.containers.set(key, entry);
      await this.startEntry(entry);
      return this.containerInfo(entry);
    });
  }

  start(namespace: string, name: string): Promise<ContainerInfo> {
    const key = keyOf(namespace, name);
    return this.serial(key, async () => {
      this.assertOpen();
      const entry = this.mustGet(namespace, name);
      if (!entry.sup.active) await this.startEntry(entry);
      return this.containerInfo(entry);
    });
  }

  stop(namespace: string, name: string, timeoutSeconds?: number): Promise<ContainerInfo> {
    const key = keyOf(namespace, name);
    return this.serial(key, async () => {
      const entry = this.mustGet(namespace, name);
      await this.stopEntry(entry, timeoutSeconds !== undefined ? timeoutSeconds * 1000 : entry.graceMs);
      return this.containerInfo(entry);
    });
  }

  /** Stop and start again; the agents it hosted are restarted with it. */
  restart(namespace: string, name: string): Promise<ContainerInfo> {
    const key = keyOf(namespace, name);
    return this.serial(key, async () => {
      this.assertOpen();
      const entry = this.mustGet(namespace, name);
      const hosted = this.agentsOf(key).map((a) => ({ req: a.req, restarts: a.sup.restarts }));
      await this.stopEntry(entry, entry.graceMs);
      await this.startEntry(entry);
      for (const h of hosted) await this.launchAgent(h.req, entry, h.restarts + 1);
      return this.containerInfo(entry);
    });
  }

  remove(namespace: string, name: string, opts: { keepFiles?: boolean } = {}): Promise<void> {
    const key = keyOf(namespace, name);
    return this.serial(key, async () => {
      const entry = this.containers.get(key);
      if (entry) {
        await this.stopEntry(entry, entry.graceMs);
        entry.log.close();
        this.containers.delete(key);
      }
      // Only the directory drover made: a user's spec.workingDir is never deleted.
      if (!opts.keepFiles) rmSync(this.dirOf(namespace, name), { recursive: true, force: true });
    });
  }

  list(): ContainerInfo[] {
    return [...this.containers.values()].map((e) => this.containerInfo(e));
  }

  get(namespace: string, name: string): ContainerInfo | undefined {
    const entry = this.containers.get(keyOf(namespace, name));
    return entry && this.containerInfo(entry);
  }

  async logs(namespace: string, name: string, opts: { tailBytes?: number } = {}): Promise<string> {
    const entry = this.containers.get(keyOf(namespace, name));
    if (entry) return entry.log.tail(opts.tailBytes);
    const file = join(this.dirOf(namespace, name), 'container.log');
    if (!existsSync(file)) throw new NotFound(`container ${namespace}/${name} has no logs on this node`);
    return tailFiles([`${file}.1`, file], opts.tailBytes ?? DEFAULT_TAIL_BYTES);
  }

  async readNewLogs(namespace: string, name: string): Promise<string | undefined> {
    return this.containers.get(keyOf(namespace, name))?.log.readNew();
  }

  startAgent(req: AgentRequest): Promise<AgentInfo> {
    const ckey = keyOf(req.namespace, req.containerName);
    return this.serial(ckey, async () => {
      this.assertOpen();
      const container = this.containers.get(ckey);
      if (!container) throw new NotFound(`container ${ckey} (host of agent ${req.name}) is not on this node`);
      if (!container.sup.active) throw new Conflict(`container ${ckey} is ${container.sup.state}: start it before starting agent ${req.name}`);
      const cur = this.agents.get(keyOf(req.namespace, req.name));
      if (cur && cur.req.uid === req.uid && cur.containerKey === ckey && cur.sup.active) return agentInfo(cur);
      if (!req.command?.length) throw new Invalid(`agent ${req.namespace}/${req.name}: command is empty`);
      return agentInfo(await this.launchAgent(req, container));
    });
  }

  async stopAgent(namespace: string, name: string, timeoutSeconds = DEFAULT_GRACE_SECONDS): Promise<void> {
    const entry = this.agents.get(keyOf(namespace, name));
    if (!entry) return;
    await this.serial(entry.containerKey, () => this.retireAgent(entry, timeoutSeconds * 1000));
  }

  listAgents(): AgentInfo[] {
    return [...this.agents.values()].map(agentInfo);
  }

  async readNewAgentLogs(namespace: string, name: string): Promise<string | undefined> {
    return this.agents.get(keyOf(namespace, name))?.log.readNew();
  }

  on(handler: (ev: RuntimeEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async nodeResources(): Promise<{ capacity: { cpu: string; memory: string }; usage: { cpu: string; memory: string } }> {
    const cpus = os.cpus().length || 1;
    const total = os.totalmem();
    const times = readCpuTimes();
    let cpuMillis = 0;
    if (times) {
      // Since the previous call; the first call averages since boot.
      const prev = this.prevCpu ?? { busy: 0, total: 0 };
      const dt = times.total - prev.total;
      cpuMillis = dt > 0 ? ((times.busy - prev.busy) / dt) * cpus * 1000 : 0;
      this.prevCpu = times;
    }
    const used = readMemoryUsed() ?? total - os.freemem();
    return {
      capacity: { cpu: String(cpus), memory: `${Math.floor(total / 1024)}Ki` },
      usage: { cpu: formatCpuUsage(cpuMillis), memory: formatMemoryUsage(used) },
    };
  }

  async close(opts: { stopWorkloads?: boolean } = {}): Promise<void> {
    this.closed = true;
    if (opts.stopWorkloads) {
      await Promise.all([...this.containers.values()].map((e) => this.serial(e.key, () => this.stopEntry(e, e.graceMs))));
    }
    for (const e of this.containers.values()) {
      e.health?.stop();
      e.sup.detach();
      if (opts.stopWorkloads) e.log.close();
    }
    for (const a of this.agents.values()) a.sup.detach();
  }

  // ---- containers ----

  private createEntry(req: ContainerRequest): ContainerEntry {
    const spec = req.spec;
    const key = keyOf(req.namespace, req.name);
    const command = strings(spec.command);
    const args = strings(spec.args);
    let base: string[];
    if (command.length) base = [...command, ...args];
    else if (spec.agentHost) base = [process.execPath, HOST_PROCESS_SCRIPT, ...args];
    else throw new Invalid(`container ${key}: the process runtime needs spec.command (or spec.agentHost, which runs a built-in host process)`);

    const dir = this.dirOf(req.namespace, req.name);
    const workDir = typeof spec.workingDir === 'string' && spec.workingDir ? resolve(dir, spec.workingDir) : join(dir, 'work');
    mkdirSync(workDir, { recursive: true });
    mkdirSync(join(dir, 'agents'), { recursive: true });
    const env = buildEnv(process.env, spec.env as EnvVar[] | undefined, {
      DROVER_CONTAINER: req.name,
      DROVER_NAMESPACE: req.namespace,
      DROVER_NODE_ADDRESS: this.o.nodeAddress ?? '127.0.0.1',
    });
    const restartPolicy = parseRestartPolicy(spec.restartPolicy);
    const graceMs = Number(spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    const log = new RotatingLog(join(dir, 'container.log'), this.o.log);
    const check = parseHealthCheck(spec.healthCheck);
    const entry: ContainerEntry = {
      key, req, dir, workDir, env, restartPolicy, graceMs, log, check, usageAt: 0,
      sup: new Supervisor({
        label: `container ${key}`,
        what: 'container',
        argv: () => [resolveCommand(base[0], env.PATH, workDir), ...base.slice(1)],
        env, cwd: workDir, restartPolicy, log,
        clock: this.clock, logger: this.o.logger, backoff: this.backoff, pdeathsig: this.pdeathsig,
        stateFile: join(dir, 'state.json'),
        onChange: (kind) => this.onContainerChange(entry, kind),
      }),
    };
    if (check) {
      entry.health = new HealthMonitor({
        check, clock: this.clock, firstProbeMs: this.o.healthFirstProbeMs,
        ctx: { host: '127.0.0.1', cwd: workDir, env },
        onChange: (health, message) => this.onHealthChange(entry, health, message),
      });
    }
    return entry;
  }

  private async startEntry(entry: ContainerEntry): Promise<void> {
    await entry.sup.start();
  }

  /** Agents first (they live inside the container), then the container's own group. */
  private async stopEntry(entry: ContainerEntry, timeoutMs: number): Promise<void> {
    await Promise.all(this.agentsOf(entry.key).map((a) => this.retireAgent(a, timeoutMs)));
    entry.health?.stop();
    await entry.sup.stop(timeoutMs);
  }

  private onContainerChange(entry: ContainerEntry, kind: ChangeKind): void {
    if (kind === 'spawned') {
      entry.sample = undefined;
      entry.usage = undefined;
      entry.health?.start();
    }
    if (kind === 'exited') entry.health?.stop();
    this.emit({ type: 'container', info: this.containerInfo(entry) });
  }

  private onHealthChange(entry: ContainerEntry, health: HealthState, message: string): void {
    this.o.logger.info('container health changed', { container: entry.key, health, probe: message });
    this.emit({ type: 'container', info: this.containerInfo(entry) });
    // Like a Kubernetes liveness probe: an Unhealthy container is killed and restarted per policy.
    if (health === 'Unhealthy' && entry.restartPolicy !== 'Never') entry.sup.failAndRestart('Unhealthy', entry.graceMs);
  }

  private containerInfo(e: ContainerEntry): ContainerInfo {
    const { sup } = e;
    const running = sup.state === 'running';
    let health: HealthState = 'None';
    if (e.health) health = running ? e.health.health : sup.active ? 'Starting' : 'None';
    const message = sup.message ?? (running && e.health?.message ? e.health.message : undefined);
    return {
      namespace: e.req.namespace,
      name: e.req.name,
      uid: e.req.uid,
      generation: e.req.generation,
      containerID: sup.lastPid !== undefined ? `process://${sup.lastPid}` : '',
      pid: sup.pid,
      state: sup.state,
      health,
      restarts: sup.restarts,
      startedAt: sup.startedAt,
      lastExit: sup.lastExit,
      message,
      usage: running ? this.usageOf(e) : undefined,
    };
  }

  private usageOf(e: ContainerEntry): { cpu: string; memory: string } | undefined {
    const now = this.clock.now();
    if (e.usage && now - e.usageAt < USAGE_TTL_MS) return e.usage;
    const pid = e.sup.pid;
    if (pid === undefined) return undefined;
    const members = this.groups(now).get(pid) ?? [];
    if (!members.length) return e.usage;
    const u = groupUsage(members, e.sup.startTicks, e.sample, now);
    e.sample = u.sample;
    e.usageAt = now;
    e.usage = { cpu: formatCpuUsage(u.cpuMillis), memory: formatMemoryUsage(u.memoryBytes) };
    return e.usage;
  }

  /** One /proc scan, grouped by process group, shared by every container for a second. */
  private groups(now: number): Map<number, ProcStat[]> {
    if (this.scan && now - this.scan.at < USAGE_TTL_MS) return this.scan.groups;
    const groups = new Map<number, ProcStat[]>();
    for (const p of listProcesses()) {
      const g = groups.get(p.pgrp);
      if (g) g.push(p);
      else groups.set(p.pgrp, [p]);
    }
    this.scan = { at: now, groups };
    return groups;
  }

  // ---- agents ----

  private async launchAgent(req: AgentRequest, container: ContainerEntry, restarts = 0): Promise<AgentEntry> {
    const key = keyOf(req.namespace, req.name);
    const cur = this.agents.get(key);
    if (cur) await this.retireAgent(cur, DEFAULT_GRACE_SECONDS * 1000);
    const env = buildEnv(process.env, container.env, req.env, {
      DROVER_AGENT_NAME: req.name,
      DROVER_AGENT_CONFIG: JSON.stringify(req.config ?? {}),
    });
    const argv = [...req.command, ...(req.args ?? [])];
    const agentsDir = join(container.dir, 'agents');
    mkdirSync(agentsDir, { recursive: true });
    const log = new RotatingLog(join(agentsDir, `${req.name}.log`), this.o.log);
    const entry: AgentEntry = {
      key, containerKey: container.key, req, log,
      sup: new Supervisor({
        label: `agent ${key}`,
        what: 'agent',
        argv: () => [resolveCommand(argv[0], env.PATH, container.workDir), ...argv.slice(1)],
        env, cwd: container.workDir, restartPolicy: parseRestartPolicy(req.restartPolicy ?? 'Always'), log,
        clock: this.clock, logger: this.o.logger, backoff: this.backoff, pdeathsig: this.pdeathsig,
        stateFile: join(agentsDir, `${req.name}.state.json`),
        onChange: () => this.emit({ type: 'agent', info: agentInfo(entry) }),
      }),
    };
    entry.sup.restarts = restarts;
    this.agents.set(key, entry);
    await entry.sup.start();
    return entry;
  }

  /** Stop an agent and forget it (a final event reports it exited). */
  private async retireAgent(entry: AgentEntry, timeoutMs: number): Promise<void> {
    await entry.sup.stop(timeoutMs);
    entry.log.close();
    if (this.agents.get(entry.key) === entry) this.agents.delete(entry.key);
  }

  private agentsOf(containerKey: string): AgentEntry[] {
    return [...this.agents.values()].filter((a) => a.containerKey === containerKey);
  }

  // ---- plumbing ----

  private emit(ev: RuntimeEvent): void {
    for (const h of this.handlers) {
      try {
        h(ev);
      } catch (err) {
        this.o.logger.error('runtime event handler failed', { error: String(err), stack: (err as Error).stack });
      }
    }
  }

  /** Operations on one container run one at a time, in call order. */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => undefined, () => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  private mustGet(namespace: string, name: string): ContainerEntry {
    const entry = this.containers.get(keyOf(namespace, name));
    if (!entry) throw new NotFound(`container ${namespace}/${name} is not on this node`);
    return entry;
  }

  private assertOpen(): void {
    if (this.closed) throw new Conflict('the process runtime is closed');
  }

  private dirOf(namespace: string, name: string): string {
    return join(this.root, namespace, name);
  }

  private *stateFiles(): Generator<string> {
    for (const ns of safeReaddir(this.root)) {
      for (const name of safeReaddir(join(this.root, ns))) {
        const dir = join(this.root, ns, name);
        if (existsSync(join(dir, 'state.json'))) yield join(dir, 'state.json');
        for (const f of safeReaddir(join(dir, 'agents'))) if (f.endsWith('.state.json')) yield join(dir, 'agents', f);
      }
    }
  }
}

function agentInfo(a: AgentEntry): AgentInfo {
  const { sup, req } = a;
  return {
    namespace: req.namespace,
    name: req.name,
    uid: req.uid,
    containerName: req.containerName,
    id: sup.lastPid !== undefined ? `process://${sup.lastPid}` : '',
    pid: sup.pid,
    state: sup.state,
    restarts: sup.restarts,
    startedAt: sup.startedAt,
    lastExit: sup.lastExit,
    message: sup.message,
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new Error(`cannot list ${dir}`, { cause: err });
  }
}

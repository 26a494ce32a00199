// A ContainerRuntime that runs nothing: every operation only updates in-memory state and emits the
// RuntimeEvents a real runtime would (like Kubernetes' hollow kubelet). For `drover simulate` and benches.
import { Conflict, NotFound } from '../core/errors.ts';
import { cpuMillis, formatCpu, formatMemory, memoryBytes } from '../core/quantity.ts';
import type {
  AgentInfo, AgentRequest, ContainerInfo, ContainerRequest, ContainerRuntime, ExitInfo, RuntimeEvent, RuntimeInfo,
} from './runtime.ts';

export const RECORDING_RUNTIME_VERSION = 'recording-1';

export const RecordedOps = ['deploy', 'start', 'stop', 'restart', 'remove', 'startAgent', 'stopAgent'] as const;
export type RecordedOp = (typeof RecordedOps)[number];

export interface RecordingRuntimeOptions {
  /** Node capacity reported to the manager (quantities). */
  capacity?: { cpu: string; memory: string };
  /** Wall clock for startedAt/finishedAt (default Date.now). */
  now?: () => number;
  /** Fake pids are drawn from a counter starting here (shared counters keep them unique per process). */
  pids?: { next: number };
}

const DEFAULT_CAPACITY = { cpu: '16', memory: '64Gi' } as const;

interface Workload {
  info: ContainerInfo;
  requests: { cpuMillis: number; memoryBytes: number };
}

function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`;
}

function requestsOf(spec: Record<string, unknown>): Workload['requests'] {
  const req = ((spec.resources as { requests?: { cpu?: string; memory?: string } } | undefined)?.requests) ?? {};
  return { cpuMillis: req.cpu ? cpuMillis(req.cpu) : 0, memoryBytes: req.memory ? memoryBytes(req.memory) : 0 };
}

export class RecordingRuntime implements ContainerRuntime {
  /** How many times each operation was called (what a benchmark or test reads back). */
  readonly counts: Record<RecordedOp, number> = { deploy: 0, start: 0, stop: 0, restart: 0, remove: 0, startAgent: 0, stopAgent: 0 };
  readonly #containers = new Map<string, Workload>();
  readonly #agents = new Map<string, AgentInfo>();
  readonly #handlers = new Set<(ev: RuntimeEvent) => void>();
  readonly #capacity: { cpu: string; memory: string };
  readonly #now: () => number;
  readonly #pids: { next: number };
  #closed = false;

  constructor(opts: RecordingRuntimeOptions = {}) {
    this.#capacity = opts.capacity ?? { ...DEFAULT_CAPACITY };
    this.#now = opts.now ?? Date.now;
    this.#pids = opts.pids ?? { next: 100_000 };
  }

  info(): RuntimeInfo {
    // The Node schema knows docker and process; a recording node behaves like the process runtime.
    return { type: 'process', version: RECORDING_RUNTIME_VERSION };
  }

  async recover(): Promise<ContainerInfo[]> {
    return []; // nothing survives the process, as with the process runtime
  }

  async deploy(req: ContainerRequest): Promise<ContainerInfo> {
    this.#assertOpen();
    this.counts.deploy++;
    const key = keyOf(req.namespace, req.name);
    const cur = this.#containers.get(key);
    if (cur && cur.info.uid === req.uid && cur.info.generation === req.generation && cur.info.state === 'running') return { ...cur.info };
    if (cur) this.#exit(cur, 'Completed');
    const info = this.#running({
      namespace: req.namespace, name: req.name, uid: req.uid, generation: req.generation, containerID: '', state: 'running',
      health: req.spec.healthCheck ? 'Healthy' : 'None', restarts: cur?.info.uid === req.uid ? cur.info.restarts : 0,
    });
    this.#containers.set(key, { info, requests: requestsOf(req.spec) });
    return this.#emitContainer(info);
  }

  async start(namespace: string, name: string): Promise<ContainerInfo> {
    this.#assertOpen();
    this.counts.start++;
    const w = this.#mustGet(namespace, name);
    if (w.info.state !== 'running') w.info = this.#running(w.info);
    return this.#emitContainer(w.info);
  }

  async stop(namespace: string, name: string): Promise<ContainerInfo> {
    this.counts.stop++;
    const w = this.#mustGet(namespace, name);
    if (w.info.state === 'running') this.#exit(w, 'Killed');
    return { ...w.info };
  }

  async restart(namespace: string, name: string): Promise<ContainerInfo> {
    this.#assertOpen();
    this.counts.restart++;
    const w = this.#mustGet(namespace, name);
    const hosted = this.#agentsOf(namespace, name);
    if (w.info.state === 'running') this.#exit(w, 'Killed');
    w.info = this.#running({ ...w.info, restarts: w.info.restarts + 1 });
    this.#emitContainer(w.info);
    // The agents it hosted come back with it, as the process runtime does.
    for (const a of hosted) this.#launchAgent({ ...a, restarts: a.restarts + 1 });
    return { ...w.info };
  }

  async remove(namespace: string, name: string): Promise<void> {
    this.counts.remove++;
    const w = this.#containers.get(keyOf(namespace, name));
    if (!w) return;
    if (w.info.state === 'running') this.#exit(w, 'Killed');
    this.#containers.delete(keyOf(namespace, name));
  }

  list(): ContainerInfo[] {
    return [...this.#containers.values()].map((w) => ({ ...w.info }));
  }

  get(namespace: string, name: string): ContainerInfo | undefined {
    const w = this.#containers.get(keyOf(namespace, name));
    return w && { ...w.info };
  }

  async logs(): Promise<string> {
    return ''; // nothing runs, nothing prints
  }

  async readNewLogs(): Promise<string | undefined> {
    return undefined;
  }

  async startAgent(req: AgentRequest): Promise<AgentInfo> {
    this.#assertOpen();
    this.counts.startAgent++;
    const host = this.#containers.get(keyOf(req.namespace, req.containerName));
    if (!host) throw new NotFound(`container ${req.namespace}/${req.containerName} (host of agent ${req.name}) is not on this node`);
    if (host.info.state !== 'running') {
      throw new Conflict(`container ${req.namespace}/${req.containerName} is ${host.info.state}: start it before starting agent ${req.name}`);
    }
    const key = keyOf(req.namespace, req.name);
    const cur = this.#agents.get(key);
    if (cur && cur.uid === req.uid && cur.containerName === req.containerName && cur.state === 'running') return { ...cur };
    if (cur) this.#retireAgent(cur);
    return this.#launchAgent({ namespace: req.namespace, name: req.name, uid: req.uid, containerName: req.containerName, id: '', state: 'running', restarts: 0 });
  }

  async stopAgent(namespace: string, name: string): Promise<void> {
    this.counts.stopAgent++;
    const cur = this.#agents.get(keyOf(namespace, name));
    if (cur) this.#retireAgent(cur);
  }

  listAgents(): AgentInfo[] {
    return [...this.#agents.values()].map((a) => ({ ...a }));
  }

  on(handler: (ev: RuntimeEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async nodeResources(): Promise<{ capacity: { cpu: string; memory: string }; usage: { cpu: string; memory: string } }> {
    // Usage = what the running containers asked for: a believable, deterministic figure.
    let cpu = 0;
    let memory = 0;
    for (const w of this.#containers.values()) {
      if (w.info.state !== 'running') continue;
      cpu += w.requests.cpuMillis;
      memory += w.requests.memoryBytes;
    }
    return { capacity: { ...this.#capacity }, usage: { cpu: formatCpu(cpu), memory: formatMemory(memory) } };
  }

  async close(opts: { stopWorkloads?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (opts.stopWorkloads) for (const w of this.#containers.values()) if (w.info.state === 'running') this.#exit(w, 'Killed');
  }

  /** The host died (kill -9): every workload is gone at once, and nobody hears about it. */
  crashAll(): void {
    this.#closed = true;
    this.#handlers.clear();
    this.#agents.clear();
    this.#containers.clear();
  }

  /** A workload exited on its own (test control): containers take their agents with them. */
  crash(kind: 'container' | 'agent', namespace: string, name: string, exitCode = 1): void {
    if (kind === 'agent') {
      const a = this.#agents.get(keyOf(namespace, name));
      if (!a) throw new NotFound(`agent ${namespace}/${name} is not on this node`);
      a.state = 'failed';
      a.pid = undefined;
      a.lastExit = this.#exitInfo('Error', exitCode);
      this.#emit({ type: 'agent', info: { ...a } });
      return;
    }
    this.#exit(this.#mustGet(namespace, name), 'Error', exitCode, 'failed');
  }

  // ---- internals ----

  #running(info: ContainerInfo): ContainerInfo {
    const pid = this.#pids.next++;
    return { ...info, state: 'running', pid, containerID: `sim://${pid}`, startedAt: new Date(this.#now()).toISOString() };
  }

  #launchAgent(a: AgentInfo): AgentInfo {
    const pid = this.#pids.next++;
    const info: AgentInfo = { ...a, id: `sim://${pid}`, pid, state: 'running', startedAt: new Date(this.#now()).toISOString(), message: undefined };
    this.#agents.set(keyOf(a.namespace, a.name), info);
    this.#emit({ type: 'agent', info: { ...info } });
    return { ...info };
  }

  /** Stop an agent and forget it; a final event reports that it exited. */
  #retireAgent(a: AgentInfo): void {
    this.#agents.delete(keyOf(a.namespace, a.name));
    this.#emit({ type: 'agent', info: { ...a, state: 'exited', pid: undefined, lastExit: this.#exitInfo('Killed', null) } });
  }

  #agentsOf(namespace: string, containerName: string): AgentInfo[] {
    return [...this.#agents.values()].filter((a) => a.namespace === namespace && a.containerName === containerName);
  }

  /** The container stops; its agents stop first (they live inside it). */
  #exit(w: Workload, reason: string, exitCode: number | null = null, state: 'exited' | 'failed' = 'exited'): void {
    for (const a of this.#agentsOf(w.info.namespace, w.info.name)) this.#retireAgent(a);
    w.info = { ...w.info, state, pid: undefined, lastExit: this.#exitInfo(reason, exitCode) };
    this.#emitContainer(w.info);
  }

  #exitInfo(reason: string, exitCode: number | null): ExitInfo {
    return { exitCode, signal: exitCode === null ? 'SIGTERM' : null, reason, finishedAt: new Date(this.#now()).toISOString() };
  }

  #emitContainer(info: ContainerInfo): ContainerInfo {
    this.#emit({ type: 'container', info: { ...info } });
    return { ...info };
  }

  #emit(ev: RuntimeEvent): void {
    for (const h of this.#handlers) h(ev);
  }

  #mustGet(namespace: string, name: string): Workload {
    const w = this.#containers.get(keyOf(namespace, name));
    if (!w) throw new NotFound(`container ${namespace}/${name} is not on this node`);
    return w;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Conflict('the runtime is closed');
  }
}

// In-memory ContainerRuntime for node-agent unit tests: records every call, runs nothing.
import type {
  AgentInfo, AgentRequest, ContainerInfo, ContainerRequest, ContainerRuntime, HealthState, RuntimeEvent, RuntimeInfo,
} from '../../agent/runtime.ts';

export interface FakeCall {
  op: 'deploy' | 'start' | 'stop' | 'restart' | 'remove' | 'startAgent' | 'stopAgent' | 'close';
  name: string;
  generation?: number;
  opts?: unknown;
}

export class FakeRuntime implements ContainerRuntime {
  readonly calls: FakeCall[] = [];
  readonly containers = new Map<string, ContainerInfo>();
  readonly agents = new Map<string, AgentInfo>();
  readonly pendingLogs = new Map<string, string>();
  /** Agent output not shipped yet, by `ns/name`. */
  readonly pendingAgentLogs = new Map<string, string>();
  /** Requests startAgent received, by `ns/name` (the last one wins). */
  readonly agentRequests = new Map<string, AgentRequest>();
  /** Containers recover() reports (left running by a previous agent). */
  leftRunning: ContainerInfo[] = [];
  /** Make the next deploy fail with this message. */
  failNextDeploy?: string;
  closed?: { stopWorkloads?: boolean };
  #pid = 1000;
  #handlers = new Set<(ev: RuntimeEvent) => void>();

  static key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  #emit(info: ContainerInfo): ContainerInfo {
    const copy = { ...info };
    for (const h of this.#handlers) h({ type: 'container', info: copy });
    return copy;
  }

  #set(info: ContainerInfo): ContainerInfo {
    this.containers.set(FakeRuntime.key(info.namespace, info.name), info);
    return this.#emit(info);
  }

  #must(ns: string, name: string): ContainerInfo {
    const c = this.containers.get(FakeRuntime.key(ns, name));
    if (!c) throw new Error(`container ${ns}/${name} not found`);
    return c;
  }

  info(): RuntimeInfo {
    return { type: 'process', version: 'fake-1' };
  }

  async recover(): Promise<ContainerInfo[]> {
    for (const c of this.leftRunning) this.containers.set(FakeRuntime.key(c.namespace, c.name), { ...c });
    return this.leftRunning.map((c) => ({ ...c }));
  }

  async deploy(req: ContainerRequest): Promise<ContainerInfo> {
    this.calls.push({ op: 'deploy', name: req.name, generation: req.generation });
    if (this.failNextDeploy) {
      const msg = this.failNextDeploy;
      this.failNextDeploy = undefined;
      throw new Error(msg);
    }
    const cur = this.containers.get(FakeRuntime.key(req.namespace, req.name));
    if (cur && cur.uid === req.uid && cur.generation === req.generation && cur.state === 'running') return { ...cur };
    const pid = ++this.#pid;
    const hasCheck = Boolean(req.spec.healthCheck);
    return this.#set({
      namespace: req.namespace, name: req.name, uid: req.uid, generation: req.generation,
      containerID: `process://${pid}`, pid, state: 'running', health: hasCheck ? 'Starting' : 'None',
      restarts: cur?.uid === req.uid ? cur.restarts : 0, startedAt: new Date().toISOString(),
    });
  }

  async start(ns: string, name: string): Promise<ContainerInfo> {
    this.calls.push({ op: 'start', name });
    const c = this.#must(ns, name);
    const pid = ++this.#pid;
    return this.#set({ ...c, state: 'running', pid, containerID: `process://${pid}` });
  }

  async stop(ns: string, name: string, timeoutSeconds?: number): Promise<ContainerInfo> {
    this.calls.push({ op: 'stop', name, opts: timeoutSeconds });
    const c = this.#must(ns, name);
    return this.#set({ ...c, state: 'exited', pid: undefined, lastExit: { exitCode: null, signal: 'SIGTERM', reason: 'Killed', finishedAt: new Date().toISOString() } });
  }

  async restart(ns: string, name: string): Promise<ContainerInfo> {
    this.calls.push({ op: 'restart', name });
    const c = this.#must(ns, name);
    const pid = ++this.#pid;
    return this.#set({ ...c, state: 'running', pid, containerID: `process://${pid}`, restarts: c.restarts + 1 });
  }

  async remove(ns: string, name: string, opts?: { keepFiles?: boolean }): Promise<void> {
    this.calls.push({ op: 'remove', name, opts });
    this.containers.delete(FakeRuntime.key(ns, name));
  }

  list(): ContainerInfo[] {
    return [...this.containers.values()].map((c) => ({ ...c }));
  }

  get(ns: string, name: string): ContainerInfo | undefined {
    const c = this.containers.get(FakeRuntime.key(ns, name));
    return c ? { ...c } : undefined;
  }

  async logs(): Promise<string> {
    return '';
  }

  async readNewLogs(ns: string, name: string): Promise<string | undefined> {
    const k = FakeRuntime.key(ns, name);
    const text = this.pendingLogs.get(k);
    this.pendingLogs.delete(k);
    return text;
  }

  async startAgent(req: AgentRequest): Promise<AgentInfo> {
    this.calls.push({ op: 'startAgent', name: req.name });
    this.agentRequests.set(FakeRuntime.key(req.namespace, req.name), req);
    const pid = ++this.#pid;
    const info: AgentInfo = { namespace: req.namespace, name: req.name, uid: req.uid, containerName: req.containerName, id: `process://${pid}`, pid, state: 'running', restarts: 0 };
    this.agents.set(FakeRuntime.key(req.namespace, req.name), info);
    return { ...info };
  }

  async stopAgent(ns: string, name: string): Promise<void> {
    this.calls.push({ op: 'stopAgent', name });
    this.agents.delete(FakeRuntime.key(ns, name));
  }

  listAgents(): AgentInfo[] {
    return [...this.agents.values()].map((a) => ({ ...a }));
  }

  async readNewAgentLogs(ns: string, name: string): Promise<string | undefined> {
    const k = FakeRuntime.key(ns, name);
    const text = this.pendingAgentLogs.get(k);
    this.pendingAgentLogs.delete(k);
    return text;
  }

  on(handler: (ev: RuntimeEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async nodeResources() {
    return { capacity: { cpu: '4', memory: '8Gi' }, usage: { cpu: '250m', memory: '1Gi' } };
  }

  async close(opts?: { stopWorkloads?: boolean }): Promise<void> {
    this.calls.push({ op: 'close', name: '', opts });
    this.closed = opts ?? {};
    if (opts?.stopWorkloads) for (const c of this.containers.values()) c.state = 'exited';
  }

  // ---- test controls ----

  /** The process died on its own (exit code, no restart). */
  crash(ns: string, name: string, exitCode: number): void {
    const c = this.#must(ns, name);
    this.#set({ ...c, state: 'exited', pid: undefined, lastExit: { exitCode, signal: null, reason: 'Error', finishedAt: new Date().toISOString() } });
  }

  /** An agent changed on its own (exited, restarting…): update it and tell the handlers. */
  setAgent(ns: string, name: string, change: Partial<AgentInfo>): AgentInfo {
    const a = this.agents.get(FakeRuntime.key(ns, name));
    if (!a) throw new Error(`agent ${ns}/${name} not found`);
    const next = { ...a, ...change };
    this.agents.set(FakeRuntime.key(ns, name), next);
    for (const h of this.#handlers) h({ type: 'agent', info: { ...next } });
    return { ...next };
  }

  setHealth(ns: string, name: string, health: HealthState): void {
    this.#set({ ...this.#must(ns, name), health });
  }

  ops(): string[] {
    return this.calls.filter((c) => c.op !== 'close').map((c) => `${c.op} ${c.name}`);
  }
}

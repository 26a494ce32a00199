// Load of agent-host Containers from a snapshot: what the Cluster status, the seed cluster API and
// `drover status` show. Pure (no clock, no I/O) so the reconciler, the API and the CLI agree.
import { cpuMillis, formatCpu, formatMemory, memoryBytes } from './quantity.ts';
import type { KubeObject } from './types.ts';

/** Bounded so the Cluster object stays small on big fleets. */
export const MAX_LOAD_ENTRIES = 50;

export interface ContainerLoadEntry {
  container: string;
  node: string;
  agents: number;
  /** capacity.agents of the container (0 = not declared). */
  capacity: number;
  /** max of agents/capacity.agents, cpu requests/capacity.cpu and memory requests/capacity.memory, 3 decimals. */
  ratio: number;
}

export interface ResourceSum {
  agents: number;
  cpu: string;
  memory: string;
}

export interface AgentHostLoad {
  /** Running agent-host containers. */
  hosts: number;
  capacity: ResourceSum;
  /** Agents bound to Running agent hosts and their requests. */
  allocated: ResourceSum;
  /** Every Running agent host, highest ratio first (ties by name). */
  load: ContainerLoadEntry[];
  /** max − mean ratio over the Running agent hosts, 2 decimals ("0.00" without hosts). */
  imbalance: string;
  /** Agents not bound to any container (not terminating). */
  pendingAgents: number;
  /** Pending agents the scheduler found no place for (status.reason Unschedulable). */
  unplacedAgents: number;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A malformed quantity (the API validates them, so only hand-written store data) counts as 0. */
function qty(f: (q: number | string) => number, q: unknown): number {
  if (typeof q !== 'number' && typeof q !== 'string') return 0;
  try {
    return f(q);
  } catch {
    return 0; // deliberately lenient: one bad object must not hide the whole fleet's load
  }
}

export function isAgentHost(c: KubeObject): boolean {
  return typeof c.spec?.agentHost === 'object' && c.spec.agentHost !== null;
}

/** An agent that holds (or will hold) a slot: not terminating (the scheduler counts the same way). */
export function isLiveAgent(a: KubeObject): boolean {
  return !a.metadata.deletionTimestamp;
}

/** The container an agent is bound to (spec.containerName is the binding). */
export function boundContainer(a: KubeObject): string | undefined {
  return str(a.spec?.containerName);
}

export function containerNode(c: KubeObject): string {
  return str(c.status?.nodeName) ?? str(c.spec?.nodeName) ?? '';
}

/** undefined = the dimension is not declared (it does not limit). */
function hostCapacity(c: KubeObject): { agents?: number; cpu?: number; memory?: number } {
  const cap = ((c.spec?.agentHost as { capacity?: Record<string, unknown> } | undefined)?.capacity ?? {});
  return {
    agents: typeof cap.agents === 'number' ? cap.agents : undefined,
    cpu: cap.cpu === undefined ? undefined : qty(cpuMillis, cap.cpu),
    memory: cap.memory === undefined ? undefined : qty(memoryBytes, cap.memory),
  };
}

/** Same rule as the scheduler's containerLoad(): undeclared → 0, declared 0 → full once used. */
function share(used: number, cap: number | undefined): number {
  if (cap === undefined) return 0;
  return cap <= 0 ? (used > 0 ? 1 : 0) : used / cap;
}

function requestsOf(a: KubeObject): { cpu: number; memory: number } {
  const req = ((a.spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests ?? {});
  return { cpu: qty(cpuMillis, req.cpu), memory: qty(memoryBytes, req.memory) };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export function agentHostLoad(containers: KubeObject[], agents: KubeObject[]): AgentHostLoad {
  const used = new Map<string, { agents: number; cpu: number; memory: number }>();
  let pendingAgents = 0;
  let unplacedAgents = 0;
  for (const a of agents) {
    if (!isLiveAgent(a)) continue;
    const c = boundContainer(a);
    if (!c) {
      pendingAgents++;
      if (a.status?.reason === 'Unschedulable') unplacedAgents++;
      continue;
    }
    const u = used.get(c) ?? { agents: 0, cpu: 0, memory: 0 };
    const r = requestsOf(a);
    u.agents++;
    u.cpu += r.cpu;
    u.memory += r.memory;
    used.set(c, u);
  }

  const cap = { agents: 0, cpu: 0, memory: 0 };
  const alloc = { agents: 0, cpu: 0, memory: 0 };
  const load: ContainerLoadEntry[] = [];
  for (const c of containers) {
    if (!isAgentHost(c) || c.status?.phase !== 'Running' || c.metadata.deletionTimestamp) continue;
    const hc = hostCapacity(c);
    const u = used.get(c.metadata.name) ?? { agents: 0, cpu: 0, memory: 0 };
    cap.agents += hc.agents ?? 0;
    cap.cpu += hc.cpu ?? 0;
    cap.memory += hc.memory ?? 0;
    alloc.agents += u.agents;
    alloc.cpu += u.cpu;
    alloc.memory += u.memory;
    const ratio = Math.max(share(u.agents, hc.agents), share(u.cpu, hc.cpu), share(u.memory, hc.memory));
    load.push({ container: c.metadata.name, node: containerNode(c), agents: u.agents, capacity: hc.agents ?? 0, ratio: round(ratio, 3) });
  }
  load.sort((a, b) => b.ratio - a.ratio || a.container.localeCompare(b.container));

  const mean = load.length ? load.reduce((s, l) => s + l.ratio, 0) / load.length : 0;
  const max = load.length ? load[0].ratio : 0;
  const sum = (s: typeof cap): ResourceSum => ({ agents: s.agents, cpu: formatCpu(s.cpu), memory: formatMemory(s.memory) });
  return {
    hosts: load.length,
    capacity: sum(cap),
    allocated: sum(alloc),
    load,
    imbalance: (max - mean).toFixed(2),
    pendingAgents,
    unplacedAgents,
  };
}

// Pure Cluster reconcile: counts, capacity vs allocated and the Ready condition from a snapshot of
// the Cluster's namespace. No store, no clock of its own: `now` comes in, a diff goes out.
import type { Condition, KubeObject } from '../core/types.ts';
import { cpuMillis, memoryBytes, formatCpu, formatMemory } from '../core/quantity.ts';
import { agentHostLoad, MAX_LOAD_ENTRIES } from '../core/agent-host-load.ts';
import type { EventSpec, ReconcileResult } from './types.ts';

export interface ClusterSnapshot {
  nodes: KubeObject[];
  containers: KubeObject[];
  agents: KubeObject[];
  agentDeployments: KubeObject[];
}

export const ClusterConditionReasons = {
  NodesReady: 'NodesReady',
  NoNodes: 'NoNodes',
  NoReadyNodes: 'NoReadyNodes',
} as const;

/** Event reasons recorded when the Ready condition changes. */
export const ClusterEventReasons = {
  ClusterReady: 'ClusterReady',
  ClusterNotReady: 'ClusterNotReady',
} as const;

export function reconcileCluster(cluster: KubeObject, snap: ClusterSnapshot, now: number): ReconcileResult {
  const old = (cluster.status ?? {}) as Record<string, unknown>;
  const oldConditions = (old.conditions as Condition[] | undefined) ?? [];
  const generation = cluster.metadata.generation;

  const readyNodes = snap.nodes.filter(isNodeReady);
  const placedContainers = snap.containers.filter((c) => nodeOf(c) !== undefined && !isFinished(c));
  const placedAgents = snap.agents.filter((a) => (str(a.status?.containerName) ?? str(a.spec?.containerName)) !== undefined && !isFinished(a));

  const hostLoad = agentHostLoad(snap.containers, snap.agents);

  const ready = readyCondition(snap.nodes.length, readyNodes.length, generation);
  const prevReady = oldConditions.find((c) => c.type === 'Ready');
  const changed = !prevReady || prevReady.status !== ready.status || prevReady.reason !== ready.reason;
  ready.lastTransitionTime = prevReady && prevReady.status === ready.status ? prevReady.lastTransitionTime : rfc3339(now);
  if (!ready.lastTransitionTime) ready.lastTransitionTime = rfc3339(now);

  const status: Record<string, unknown> = {
    observedGeneration: generation,
    nodes: snap.nodes.length,
    readyNodes: readyNodes.length,
    containers: snap.containers.length,
    runningContainers: snap.containers.filter((c) => phase(c) === 'Running').length,
    agents: snap.agents.length,
    runningAgents: snap.agents.filter((a) => phase(a) === 'Running').length,
    agentDeployments: snap.agentDeployments.length,
    capacity: capacityOf(readyNodes),
    allocated: allocatedOf(placedContainers, placedAgents.length),
    // Agent slots of Running agent-host containers against the agents bound to them.
    agentHosts: { containers: hostLoad.hosts, capacity: hostLoad.capacity, allocated: hostLoad.allocated },
    pendingAgents: hostLoad.pendingAgents,
    unplacedAgents: hostLoad.unplacedAgents,
    load: hostLoad.load.slice(0, MAX_LOAD_ENTRIES),
    imbalance: hostLoad.imbalance,
    // Keep conditions other controllers may own; ours is Ready.
    conditions: [...oldConditions.filter((c) => c.type !== 'Ready'), ready],
  };
  if (generation === undefined) delete status.observedGeneration;

  const result: ReconcileResult = {};
  if (!sameJson(status, old)) result.status = status;
  if (changed) result.events = [readyEvent(ready)];
  return result;
}

function readyCondition(nodes: number, ready: number, generation: number | undefined): Condition {
  const c: Condition =
    nodes === 0
      ? { type: 'Ready', status: 'False', reason: ClusterConditionReasons.NoNodes, message: 'no nodes have joined; run drover agent on a host with a join token of this Cluster' }
      : ready === 0
        ? { type: 'Ready', status: 'False', reason: ClusterConditionReasons.NoReadyNodes, message: `0/${nodes} nodes are ready; check that their node agents are running and can reach the manager` }
        : { type: 'Ready', status: 'True', reason: ClusterConditionReasons.NodesReady, message: `${ready}/${nodes} nodes are ready` };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}

function readyEvent(c: Condition): EventSpec {
  return c.status === 'True'
    ? { type: 'Normal', reason: ClusterEventReasons.ClusterReady, message: c.message ?? 'cluster is ready' }
    : { type: 'Warning', reason: ClusterEventReasons.ClusterNotReady, message: c.message ?? 'cluster is not ready' };
}

// ---- reading the snapshot ----

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function phase(o: KubeObject): string | undefined {
  return str(o.status?.phase);
}

function isFinished(o: KubeObject): boolean {
  const p = phase(o);
  return p === 'Stopped' || p === 'Failed' || p === 'Succeeded';
}

export function isNodeReady(node: KubeObject): boolean {
  const conds = (node.status?.conditions as Condition[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The node a container runs on (status wins over the requested spec.nodeName). */
function nodeOf(c: KubeObject): string | undefined {
  return str(c.status?.nodeName) ?? str(c.spec?.nodeName);
}

function capacityOf(nodes: KubeObject[]): Record<string, unknown> {
  let cpu = 0;
  let memory = 0;
  let containers = 0;
  let agents = 0;
  for (const n of nodes) {
    const a = ((n.status?.allocatable ?? n.status?.capacity) ?? {}) as Record<string, unknown>;
    cpu += safe(cpuMillis, a.cpu);
    memory += safe(memoryBytes, a.memory);
    containers += typeof a.containers === 'number' ? a.containers : 0;
    agents += typeof a.agents === 'number' ? a.agents : 0;
  }
  return { cpu: formatCpu(cpu), memory: formatMemory(memory), containers, agents };
}

function allocatedOf(containers: KubeObject[], agents: number): Record<string, unknown> {
  // Agents run inside their container's budget, so only container requests count against nodes.
  let cpu = 0;
  let memory = 0;
  for (const c of containers) {
    const req = ((c.spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests ?? {});
    cpu += safe(cpuMillis, req.cpu);
    memory += safe(memoryBytes, req.memory);
  }
  return { cpu: formatCpu(cpu), memory: formatMemory(memory), containers: containers.length, agents };
}

/** A malformed quantity (the API validates them, so only hand-written store data) counts as 0. */
function safe(f: (q: number | string) => number, q: unknown): number {
  if (typeof q !== 'number' && typeof q !== 'string') return 0;
  try {
    return f(q);
  } catch {
    return 0; // deliberately lenient: one bad Node must not stop the Cluster's status
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  }
  return v;
}

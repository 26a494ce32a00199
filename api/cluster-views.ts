// Read-only views of one Cluster's namespace for the seed cluster API and `drover status`:
// the overview (counts, capacity vs allocated, load) and the topology tree nodes → containers → agents.
import { agentHostLoad, boundContainer, containerNode, isAgentHost, MAX_LOAD_ENTRIES } from '../core/agent-host-load.ts';
import type { AgentHostLoad, ContainerLoadEntry } from '../core/agent-host-load.ts';
import type { Condition, KubeObject } from '../core/types.ts';

export interface ClusterSnapshotView {
  cluster?: KubeObject;
  nodes: KubeObject[];
  containers: KubeObject[];
  agents: KubeObject[];
  agentDeployments: KubeObject[];
}

export interface ClusterOverview {
  cluster: string;
  /** The Cluster object exists (objects may live in a namespace whose Cluster was deleted). */
  registered: boolean;
  ready: boolean;
  nodes: { total: number; ready: number };
  containers: { total: number; running: number };
  agents: { total: number; running: number; pending: number; unplaced: number };
  agentDeployments: number;
  /** Node capacity vs container requests, as the Cluster status has them (when the controller has written it). */
  capacity: Record<string, unknown> | null;
  allocated: Record<string, unknown> | null;
  agentHosts: { containers: number; capacity: AgentHostLoad['capacity']; allocated: AgentHostLoad['allocated'] };
  imbalance: string;
  load: ContainerLoadEntry[];
  conditions: Condition[];
}

export interface TopologyAgent { name: string; phase: string; agentType: string; message?: string }
export interface TopologyContainer {
  name: string;
  phase: string;
  agentHost: boolean;
  agents: number;
  /** capacity.agents of an agent host (0 = not declared or not a host). */
  capacity: number;
  agentList: TopologyAgent[];
}
export interface TopologyNode {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  labels: Record<string, string>;
  containers: TopologyContainer[];
}
export interface Topology {
  cluster: string;
  nodes: TopologyNode[];
  /** Containers not (yet) placed on a node. */
  unplacedContainers: TopologyContainer[];
  /** Agents without a binding, or bound to a container that does not exist. */
  unscheduled: TopologyAgent[];
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
const phaseOf = (o: KubeObject, fallback: string) => (typeof o.status?.phase === 'string' ? o.status.phase : fallback);

export function isNodeReady(node: KubeObject): boolean {
  const conds = (node.status?.conditions as Condition[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function clusterOverview(name: string, snap: ClusterSnapshotView): ClusterOverview {
  const load = agentHostLoad(snap.containers, snap.agents);
  const status = (snap.cluster?.status ?? {}) as Record<string, unknown>;
  const conditions = (status.conditions as Condition[] | undefined) ?? [];
  const readyNodes = snap.nodes.filter(isNodeReady).length;
  return {
    cluster: name,
    registered: snap.cluster !== undefined,
    // live answer: the stored condition may lag by one reconcile
    ready: readyNodes > 0,
    nodes: { total: snap.nodes.length, ready: readyNodes },
    containers: { total: snap.containers.length, running: snap.containers.filter((c) => c.status?.phase === 'Running').length },
    agents: {
      total: snap.agents.length,
      running: snap.agents.filter((a) => a.status?.phase === 'Running').length,
      pending: load.pendingAgents,
      unplaced: load.unplacedAgents,
    },
    agentDeployments: snap.agentDeployments.length,
    capacity: (status.capacity as Record<string, unknown> | undefined) ?? null,
    allocated: (status.allocated as Record<string, unknown> | undefined) ?? null,
    agentHosts: { containers: load.hosts, capacity: load.capacity, allocated: load.allocated },
    imbalance: load.imbalance,
    load: load.load.slice(0, MAX_LOAD_ENTRIES),
    conditions,
  };
}

function agentView(a: KubeObject): TopologyAgent {
  const msg = typeof a.status?.message === 'string' && a.status.message !== '' ? a.status.message : undefined;
  return { name: a.metadata.name, phase: phaseOf(a, 'Pending'), agentType: String(a.spec?.agentType ?? ''), ...(msg ? { message: msg } : {}) };
}

export function clusterTopology(name: string, snap: ClusterSnapshotView): Topology {
  const agentsOf = new Map<string, KubeObject[]>();
  const unscheduled: TopologyAgent[] = [];
  for (const a of snap.agents) {
    const c = boundContainer(a);
    if (!c) unscheduled.push(agentView(a));
    else agentsOf.set(c, [...(agentsOf.get(c) ?? []), a]);
  }
  const containerNames = new Set(snap.containers.map((c) => c.metadata.name));
  for (const [c, list] of agentsOf) {
    if (containerNames.has(c)) continue;
    for (const a of list) unscheduled.push({ ...agentView(a), message: `bound to container ${c}, which does not exist` });
  }

  const toView = (c: KubeObject): TopologyContainer => {
    const list = (agentsOf.get(c.metadata.name) ?? []).filter((a) => !a.metadata.deletionTimestamp);
    const cap = (c.spec?.agentHost as { capacity?: { agents?: unknown } } | undefined)?.capacity?.agents;
    return {
      name: c.metadata.name, phase: phaseOf(c, 'Pending'), agentHost: isAgentHost(c),
      agents: list.length, capacity: typeof cap === 'number' ? cap : 0,
      agentList: list.map(agentView).sort(byName),
    };
  };
  const onNode = new Map<string, TopologyContainer[]>();
  const unplacedContainers: TopologyContainer[] = [];
  for (const c of snap.containers) {
    const n = containerNode(c);
    if (!n) unplacedContainers.push(toView(c));
    else onNode.set(n, [...(onNode.get(n) ?? []), toView(c)]);
  }
  const nodes: TopologyNode[] = snap.nodes.map((n) => ({
    name: n.metadata.name, ready: isNodeReady(n), unschedulable: n.spec?.unschedulable === true,
    labels: { ...(n.metadata.labels ?? {}) },
    containers: (onNode.get(n.metadata.name) ?? []).sort(byName),
  }));
  // containers reported on a node that has no Node object still show up, under that name
  const known = new Set(nodes.map((n) => n.name));
  for (const [n, list] of onNode) {
    if (!known.has(n)) nodes.push({ name: n, ready: false, unschedulable: false, labels: {}, containers: list.sort(byName) });
  }
  return { cluster: name, nodes: nodes.sort(byName), unplacedContainers: unplacedContainers.sort(byName), unscheduled: unscheduled.sort(byName) };
}

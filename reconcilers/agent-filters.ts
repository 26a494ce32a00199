// Agent → Container feasibility: an ordered list of pure checks, each naming why a container is
// rejected. The order is the order reasons appear in "0/6 containers: …" messages.
import type { KubeObject } from '../core/types.ts';
import type { AgentRequest, ContainerState, SchedulerState, SchedulerView } from './agent-scheduler-state.ts';

export const AgentFilterReasons = {
  ContainerNotRunning: 'container not running',
  NodeNotReady: 'node not ready',
  NodeCordoned: 'node cordoned',
  NodeFlapping: 'node flapping',
  NotAgentHost: 'not an agent host',
  /** The container is in ScheduleOptions.exclude for this agent (the one it is leaving). */
  Excluded: 'container excluded',
  SelectorMismatch: 'selector mismatch',
  InsufficientAgentSlots: 'insufficient agent slots',
  InsufficientCpu: 'insufficient cpu',
  InsufficientMemory: 'insufficient memory',
  MaxPerContainer: 'max per container reached',
} as const;

/** `lack capability <cap>`: the one reason that carries data (the first required capability missing). */
export const lackCapability = (cap: string): string => `lack capability ${cap}`;

/** What a filter may look at besides the objects: the indexed state of this batch. */
export interface FilterContext {
  state: SchedulerState;
  container: ContainerState;
  agent: AgentRequest;
}

/** A rejection reason, or null when the agent may go to the container. */
export type AgentFilter = (container: KubeObject, agent: KubeObject, view: SchedulerView, ctx: FilterContext) => string | null;

const R = AgentFilterReasons;

export const containerRunning: AgentFilter = (_c, _a, _v, { container }) => (container.running ? null : R.ContainerNotRunning);
/** A container whose Node is missing from the view counts as on a node that is not ready. */
export const nodeReady: AgentFilter = (_c, _a, _v, { container }) => (container.nodeReady ? null : R.NodeNotReady);
export const nodeNotCordoned: AgentFilter = (_c, _a, _v, { container }) => (container.cordoned ? R.NodeCordoned : null);
export const nodeNotFlapping: AgentFilter = (_c, _a, _v, { container }) => (container.flapping ? R.NodeFlapping : null);
export const isAgentHost: AgentFilter = (_c, _a, _v, { container }) => (container.agentHost ? null : R.NotAgentHost);

export const notExcluded: AgentFilter = (_c, _a, _v, { container, agent }) => (agent.exclude?.has(container.name) ? R.Excluded : null);

export const hasCapabilities: AgentFilter = (_c, _a, _v, { container, agent }) => {
  for (const cap of agent.required) if (!container.capabilities.has(cap)) return lackCapability(cap);
  return null;
};

export const selectorMatches: AgentFilter = (_c, _a, _v, { container, agent }) =>
  agent.selectorRow === undefined || agent.selectorRow[container.index] === 1 ? null : R.SelectorMismatch;

export const agentSlotFree: AgentFilter = (_c, _a, _v, { container }) =>
  container.agents + 1 > container.capAgents ? R.InsufficientAgentSlots : null;

/** An agent without a cpu request needs none; a container without a cpu capacity is unlimited. */
export const cpuFits: AgentFilter = (_c, _a, _v, { container, agent }) =>
  container.capCpu !== undefined && agent.cpu > 0 && container.cpu + agent.cpu > container.capCpu ? R.InsufficientCpu : null;

export const memoryFits: AgentFilter = (_c, _a, _v, { container, agent }) =>
  container.capMemory !== undefined && agent.memory > 0 && container.memory + agent.memory > container.capMemory ? R.InsufficientMemory : null;

/** maxPerContainer counts agents of the same deployment already in the container. */
export const underMaxPerContainer: AgentFilter = (_c, _a, _v, { container, agent }) =>
  agent.maxPerContainer !== undefined && agent.perContainer[container.index] + 1 > agent.maxPerContainer ? R.MaxPerContainer : null;

/** Checks that do not depend on the agent: evaluated once per container per batch. */
export const containerFilters: readonly AgentFilter[] = [containerRunning, nodeReady, nodeNotCordoned, nodeNotFlapping, isAgentHost];

/** Checks that depend on the agent and on what the batch has bound so far. */
export const requestFilters: readonly AgentFilter[] = [
  notExcluded, hasCapabilities, selectorMatches, agentSlotFree, cpuFits, memoryFits, underMaxPerContainer,
];

export const defaultAgentFilters: readonly AgentFilter[] = [...containerFilters, ...requestFilters];

/** `0/6 containers: 3 lack capability gpu_compute, 3 insufficient memory` (reasons in insertion order). */
export function unschedulableMessage(total: number, reasons: Record<string, number>): string {
  if (total === 0) return '0/0 containers: no agent-host containers in this cluster';
  return `0/${total} containers: ${Object.entries(reasons).map(([r, n]) => `${n} ${r}`).join(', ')}`;
}

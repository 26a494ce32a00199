// Builders for scheduler tests: Nodes, agent-host Containers and Agents as the API stores them.
import type { KubeObject } from '../../core/types.ts';
import type { SchedulerView } from '../../reconcilers/agent-scheduler.ts';

const V = 'drover.dev/v1alpha1';
export const NOW = Date.parse('2026-03-01T12:00:00Z');
export const NS = 'c1';

export interface NodeOpts { ready?: boolean; unschedulable?: boolean; labels?: Record<string, string>; transitions?: string[] }
export function node(name: string, o: NodeOpts = {}): KubeObject {
  return {
    apiVersion: V, kind: 'Node',
    metadata: { name, namespace: NS, labels: o.labels, annotations: o.transitions ? { 'drover.dev/ready-transitions': JSON.stringify(o.transitions) } : undefined },
    spec: { unschedulable: o.unschedulable ?? false },
    status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'Unknown' : 'True' }] },
  };
}

export interface CtrOpts {
  phase?: string;
  caps?: string[];
  agents?: number;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  /** false = a plain container (no agentHost). */
  host?: boolean;
}
export function ctr(name: string, nodeName: string, o: CtrOpts = {}): KubeObject {
  const capacity: Record<string, unknown> = {};
  if (o.agents !== undefined) capacity.agents = o.agents;
  if (o.cpu !== undefined) capacity.cpu = o.cpu;
  if (o.memory !== undefined) capacity.memory = o.memory;
  return {
    apiVersion: V, kind: 'Container', metadata: { name, namespace: NS, labels: o.labels },
    spec: { command: ['sleep', '1000'], ...(o.host === false ? {} : { agentHost: { capabilities: o.caps ?? [], capacity } }) },
    status: { phase: o.phase ?? 'Running', nodeName },
  };
}

export interface AgentOpts {
  deployment?: string;
  strategy?: string;
  spreadBy?: string;
  required?: string[];
  preferred?: string[];
  selector?: Record<string, unknown>;
  maxPerContainer?: number;
  cpu?: string;
  memory?: string;
  containerName?: string;
  terminating?: boolean;
}
export function agent(name: string, o: AgentOpts = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: V, kind: 'Agent',
    metadata: {
      name, namespace: NS, labels: { 'drover.dev/deployment': o.deployment ?? 'trading' },
      ...(o.terminating ? { deletionTimestamp: '2026-03-01T11:59:00Z' } : {}),
    },
    spec: {
      agentType: 'trading',
      ...(o.containerName ? { containerName: o.containerName } : {}),
      resources: { requests },
      placement: {
        strategy: o.strategy ?? 'LeastLoaded', spreadBy: o.spreadBy ?? 'node',
        requiredCapabilities: o.required ?? [], preferredCapabilities: o.preferred ?? [],
        ...(o.selector ? { containerSelector: o.selector } : {}),
        ...(o.maxPerContainer ? { maxPerContainer: o.maxPerContainer } : {}),
      },
    },
  };
}

/** n pending agents `a-00`, `a-01`, … of one deployment. */
export function agents(n: number, o: AgentOpts = {}, prefix = 'a'): KubeObject[] {
  return Array.from({ length: n }, (_, i) => agent(`${prefix}-${String(i).padStart(2, '0')}`, o));
}

export function view(nodes: KubeObject[], containers: KubeObject[], bound: KubeObject[] = []): SchedulerView {
  return { nodes, containers, agents: bound, now: NOW };
}

/** Agents per container in a plan (containers with none are left out). */
export function countBy(bindings: Array<{ container: string }>, key: 'container' = 'container'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of bindings) out[b[key]] = (out[b[key]] ?? 0) + 1;
  return out;
}

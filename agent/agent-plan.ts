// The node agent's level-based decision for Agents, pure: given the Agents bound to this node
// (status.nodeName = self), the local containers and the agents the runtime runs, which to start,
// which to stop, and which to report as failed because their container does not run here.
import type { KubeObject } from '../core/types.ts';
import type { AgentInfo, AgentRequest, ContainerInfo } from './runtime.ts';
import { keyOf } from './sync-plan.ts';

export const AgentReasons = {
  ContainerNotRunning: 'ContainerNotRunning',
  Fenced: 'Fenced',
} as const;

export const StopCauses = ['unbound', 'terminating', 'recreated', 'moved', 'container-not-running', 'fenced'] as const;
export type StopCause = (typeof StopCauses)[number];

export interface AgentSyncInput {
  /** Agents whose status.nodeName is this node (from the list with that fieldSelector). */
  agents: KubeObject[];
  /** runtime.list(): the containers this node runs. */
  containers: ContainerInfo[];
  /** runtime.listAgents(). */
  local: AgentInfo[];
  /** `ns/name` of containers bound here that are being deployed or restored (agents wait for them). */
  containersPending: ReadonlySet<string>;
  /** `ns/name` of agents with a runtime operation in flight: left alone this round. */
  busy: ReadonlySet<string>;
  /** The node lost its lease: nothing starts, everything stops. */
  fenced: boolean;
}

export interface AgentStart { agent: KubeObject; replace: boolean }
export interface AgentStop { info: AgentInfo; cause: StopCause }
export interface AgentFailure { agent: KubeObject; container: string; containerState: string }

export interface AgentSyncPlan {
  start: AgentStart[];
  stop: AgentStop[];
  /** Bound here, but the container is stopped, failed or gone: report Failed/ContainerNotRunning. */
  containerNotRunning: AgentFailure[];
}

/** Container states in which agents wait rather than fail (the container is on its way up). */
const TRANSIENT = new Set(['created', 'starting', 'restarting']);

function containerNameOf(agent: KubeObject): string | undefined {
  const c = agent.spec?.containerName;
  return typeof c === 'string' && c ? c : undefined;
}

/**
 * The container the agent should run in on this node, or undefined while the binding is in flux:
 * the scheduler writes spec.containerName before status, so a mismatch means "being moved".
 */
export function boundContainer(agent: KubeObject): string | undefined {
  const spec = containerNameOf(agent);
  const status = agent.status?.containerName;
  if (!spec || agent.metadata.deletionTimestamp) return undefined;
  if (typeof status === 'string' && status && status !== spec) return undefined;
  return spec;
}

function byName(a: { metadata: { name: string } }, b: { metadata: { name: string } }): number {
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export function planAgentSync(input: AgentSyncInput): AgentSyncPlan {
  const plan: AgentSyncPlan = { start: [], stop: [], containerNotRunning: [] };
  const wanted = new Map(input.agents.map((a) => [keyOf(a.metadata.namespace, a.metadata.name), a]));
  const localByKey = new Map(input.local.map((i) => [keyOf(i.namespace, i.name), i]));
  const containerByKey = new Map(input.containers.map((c) => [keyOf(c.namespace, c.name), c]));

  for (const info of input.local) {
    const key = keyOf(info.namespace, info.name);
    if (input.busy.has(key)) continue;
    const agent = wanted.get(key);
    let cause: StopCause | undefined;
    if (input.fenced) cause = 'fenced';
    else if (!agent) cause = 'unbound';
    else if (agent.metadata.deletionTimestamp) cause = 'terminating';
    else if (agent.metadata.uid !== undefined && agent.metadata.uid !== info.uid) cause = 'recreated';
    else if (boundContainer(agent) !== info.containerName) cause = 'moved';
    else {
      const c = containerByKey.get(keyOf(info.namespace, info.containerName));
      if (!c || (c.state !== 'running' && !TRANSIENT.has(c.state))) cause = 'container-not-running';
    }
    // an exited agent (restart policy gave up) is kept for its status unless it must go
    if (cause) plan.stop.push({ info, cause });
  }
  if (input.fenced) return plan;

  for (const agent of [...input.agents].sort(byName)) {
    const key = keyOf(agent.metadata.namespace, agent.metadata.name);
    const container = boundContainer(agent);
    if (!container || input.busy.has(key)) continue;
    const ckey = keyOf(agent.metadata.namespace, container);
    const c = containerByKey.get(ckey);
    const cur = localByKey.get(key);
    const stopping = plan.stop.some((s) => s.info === cur);
    if (c?.state === 'running') {
      if (!cur || stopping) plan.start.push({ agent, replace: Boolean(cur) });
      continue;
    }
    if (c && TRANSIENT.has(c.state)) continue;
    if (!c && input.containersPending.has(ckey)) continue;
    plan.containerNotRunning.push({ agent, container, containerState: c ? c.state : 'absent' });
  }
  return plan;
}

export interface AgentEnvContext {
  managerUrl: string;
}

/** What the runtime needs to run the Agent: its spec plus the DROVER_* environment it is promised. */
export function agentRequest(agent: KubeObject, ctx: AgentEnvContext): AgentRequest {
  const s = (agent.spec ?? {}) as Record<string, unknown>;
  const ns = agent.metadata.namespace ?? '';
  const userEnv = Array.isArray(s.env) ? (s.env as Array<{ name: string; value?: string }>) : [];
  const ours: Array<{ name: string; value: string }> = [
    { name: 'DROVER_AGENT_ID', value: agent.metadata.name },
    { name: 'DROVER_AGENT_TYPE', value: String(s.agentType ?? '') },
    { name: 'DROVER_AGENT_CONFIG', value: JSON.stringify(s.config ?? {}) },
    { name: 'DROVER_MANAGER_URL', value: ctx.managerUrl },
    { name: 'DROVER_NAMESPACE', value: ns },
  ];
  // The identity variables win over spec.env: an agent must not be able to claim another id.
  const reserved = new Set(ours.map((e) => e.name));
  const args = Array.isArray(s.args) ? (s.args as string[]) : undefined;
  return {
    namespace: ns,
    name: agent.metadata.name,
    uid: agent.metadata.uid ?? '',
    containerName: String(s.containerName ?? ''),
    command: Array.isArray(s.command) ? (s.command as string[]) : [],
    ...(args ? { args } : {}),
    env: [...userEnv.filter((e) => !reserved.has(e.name)), ...ours],
    config: (s.config as Record<string, unknown> | undefined) ?? {},
    restartPolicy: (s.restartPolicy as AgentRequest['restartPolicy']) ?? 'Always',
  };
}

// Pure failure-migration decisions: which bound Agents must be unbound (and re-placed) because their
// container or node is gone, and when. At most one: an agent on a silent node is only moved after the
// node has fenced itself (grace period + agent stop grace + margin, never before manager start + that).
import type { KubeObject } from '../core/types.ts';
import type { AgentSpec, AgentStatus } from '../core/kinds.generated.ts';
import { isNodeFlapping } from './agent-scheduler-state.ts';
import { lastHeartbeatMs, readyCondition, NodeConditionReasons } from './node-lifecycle.ts';

/** Agent annotation set while it is unbound for a migration: JSON {container, node, reason}. */
export const MIGRATING_FROM_ANNOTATION = 'drover.dev/migrating-from';

/** The node agent's own stop grace for agents, and a safety margin on top (clock skew, delivery). */
export const AGENT_STOP_GRACE_MS = 10_000;
export const FENCING_MARGIN_MS = 2_000;

export const MigrationReasons = {
  Migrating: 'Migrating',
  Migrated: 'Migrated',
} as const;

export interface MigrationInput {
  nodes: KubeObject[];
  containers: KubeObject[];
  now: number;
  gracePeriodMs: number;
  managerStartedAt: number;
  /** Deployments whose spec.migration.enabled is false: their agents stay put. */
  migrationDisabled?: Set<string>;
}

export interface MigrationFrom {
  container: string;
  node?: string;
  /** Why: `node NotReady`, `container deleted`, `container Failed`, … */
  reason: string;
}

export interface MigrationDecision {
  agent: KubeObject;
  from: MigrationFrom;
}

export interface MigrationPlan {
  unbind: MigrationDecision[];
  /** Wake up when the earliest fencing deadline of a waiting agent passes. */
  requeueAfter?: number;
}

const NOT_RUNNING_CONTAINER = new Set(['Failed', 'Stopped', 'Unknown']);
const AGENT_ALIVE = new Set(['Running', 'Starting']);

/** When an agent on this node may run elsewhere: the node has fenced itself by then. */
export function fencingDeadline(node: KubeObject, gracePeriodMs: number, managerStartedAt: number): number {
  const last = lastHeartbeatMs(node) ?? managerStartedAt;
  return Math.max(last, managerStartedAt) + gracePeriodMs + AGENT_STOP_GRACE_MS + FENCING_MARGIN_MS;
}

const isReady = (n: KubeObject | undefined) => readyCondition(n ?? ({ metadata: { name: '' } } as KubeObject))?.status === 'True';

/** "moved from container c1 on node-a (node NotReady)" — the first half of the Migrated message. */
export function describeFrom(f: MigrationFrom): string {
  return `container ${f.container}${f.node ? ` on ${f.node}` : ''} (${f.reason})`;
}

export function parseMigratingFrom(agent: KubeObject): MigrationFrom | undefined {
  const raw = agent.metadata.annotations?.[MIGRATING_FROM_ANNOTATION];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as MigrationFrom;
    return typeof v?.container === 'string' && typeof v.reason === 'string' ? v : undefined;
  } catch {
    return undefined; // hand-edited annotation: the move still happens, only the message is plainer
  }
}

export function planMigrations(agents: KubeObject[], input: MigrationInput): MigrationPlan {
  const nodes = new Map(input.nodes.map((n) => [n.metadata.name, n]));
  const containers = new Map(input.containers.map((c) => [c.metadata.name, c]));
  const unbind: MigrationDecision[] = [];
  let wake: number | undefined;
  for (const agent of agents) {
    const spec = (agent.spec ?? {}) as AgentSpec;
    const status = (agent.status ?? {}) as AgentStatus;
    if (!spec.containerName || agent.metadata.deletionTimestamp) continue;
    const deployment = agent.metadata.labels?.['drover.dev/deployment'];
    if (deployment && input.migrationDisabled?.has(deployment)) continue;
    const container = containers.get(spec.containerName);
    // Where the agent may actually be running: its reported node, else where its container sits.
    const nodeName = status.nodeName ?? (container?.status?.nodeName as string | undefined);
    const node = nodeName ? nodes.get(nodeName) : undefined;
    const from = (reason: string): MigrationDecision => ({ agent, from: { container: spec.containerName!, node: nodeName, reason } });

    const nodeStopped = node && readyCondition(node)?.status === 'False' && readyCondition(node)?.reason === NodeConditionReasons.AgentStopped;
    const deleting = node?.metadata.deletionTimestamp !== undefined;
    if (nodeName && (!isReady(node) || deleting) && !nodeStopped) {
      // The node is silent, deleted (its credentials revoked, it stops heartbeating) or gone: only once it has certainly fenced itself.
      const deadline = node ? fencingDeadline(node, input.gracePeriodMs, input.managerStartedAt)
        : input.managerStartedAt + input.gracePeriodMs + AGENT_STOP_GRACE_MS + FENCING_MARGIN_MS;
      if (input.now >= deadline) unbind.push(from(node && !deleting ? 'node NotReady' : 'node deleted'));
      else wake = Math.min(wake ?? Number.POSITIVE_INFINITY, deadline - input.now);
      continue;
    }
    if (nodeStopped) {
      unbind.push(from('node agent stopped'));
      continue;
    }
    if (!container) {
      unbind.push(from('container deleted'));
      continue;
    }
    const containerNode = container.status?.nodeName as string | undefined;
    // The container itself moved (drained, re-placed): the agent follows once its old node, which is Ready
    // and no longer runs the container, says the agent is not running.
    if (status.nodeName && containerNode && containerNode !== status.nodeName && !AGENT_ALIVE.has(status.phase ?? '')) {
      unbind.push(from(`container moved to ${containerNode}`));
      continue;
    }
    const phase = container.status?.phase as string | undefined;
    // A dead container on a live node: move once that node says the agent is not running.
    if (phase && NOT_RUNNING_CONTAINER.has(phase) && !AGENT_ALIVE.has(status.phase ?? '')) {
      unbind.push(from(`container ${phase}`));
    }
  }
  return wake === undefined ? { unbind } : { unbind, requeueAfter: wake };
}

/** Nodes the scheduler must not pick now (flap damping; the rule lives with the scheduler). */
export function flappingNodes(nodes: KubeObject[], now: number): Set<string> {
  return new Set(nodes.filter((n) => isNodeFlapping(n, now)).map((n) => n.metadata.name));
}

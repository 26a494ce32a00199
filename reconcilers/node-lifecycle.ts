// Pure Node lifecycle: a Node whose last heartbeat is older than the grace period becomes
// Ready=Unknown (the manager only downgrades; the agent sets Ready=True on each heartbeat).
// The manager's start time is a floor, so restarting the manager never declares a node lost early.
import type { Condition, KubeObject } from '../core/types.ts';
import type { ClusterSpec } from '../core/kinds.generated.ts';
import { parseDuration, formatDuration } from '../core/duration.ts';
import type { EventSpec, ReconcileResult } from './types.ts';
import { appendReadyTransition, READY_TRANSITIONS_ANNOTATION } from './ready-transitions.ts';

export interface FailurePolicy {
  heartbeatIntervalMs: number;
  gracePeriodMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { heartbeatIntervalMs: 2000, gracePeriodMs: 10_000 };

export const NodeConditionReasons = {
  AgentReady: 'AgentReady',
  AgentStopped: 'AgentStopped',
  NodeStatusUnknown: 'NodeStatusUnknown',
} as const;

export const NodeEventReasons = {
  NodeNotReady: 'NodeNotReady',
  NodeReady: 'NodeReady',
} as const;

/**
 * Set by this controller while it considers the node NotReady (value: RFC 3339 time it noticed), so
 * the return to Ready is seen level-based, even across manager restarts, and announced once.
 */
export const NOT_READY_SINCE_ANNOTATION = 'drover.dev/not-ready-since';

/** The Cluster's failurePolicy in milliseconds; a missing or malformed field takes the default. */
export function failurePolicyOf(cluster: KubeObject | undefined): FailurePolicy {
  const fp = ((cluster?.spec ?? {}) as ClusterSpec).failurePolicy ?? {};
  const ms = (text: unknown, dflt: number) => {
    if (typeof text !== 'string') return dflt;
    try {
      return parseDuration(text);
    } catch {
      return dflt; // the API validates the pattern; only hand-written store data lands here
    }
  };
  return {
    heartbeatIntervalMs: ms(fp.heartbeatInterval, DEFAULT_FAILURE_POLICY.heartbeatIntervalMs),
    gracePeriodMs: ms(fp.gracePeriod, DEFAULT_FAILURE_POLICY.gracePeriodMs),
  };
}

export function readyCondition(node: KubeObject): Condition | undefined {
  return ((node.status?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
}

/** Last heartbeat in ms; a node that never heartbeat counts from its creation. */
export function lastHeartbeatMs(node: KubeObject): number | undefined {
  for (const t of [node.status?.lastHeartbeatTime, node.metadata.creationTimestamp]) {
    if (typeof t === 'string') {
      const ms = Date.parse(t);
      if (Number.isFinite(ms)) return ms;
    }
  }
  return undefined;
}

export interface NodeLifecycleInput {
  now: number;
  /** When this manager started: no node is declared lost before managerStartedAt + grace. */
  managerStartedAt: number;
  policy: FailurePolicy;
}

export function reconcileNodeLifecycle(node: KubeObject, input: NodeLifecycleInput): ReconcileResult {
  const { now, policy } = input;
  const ready = readyCondition(node);
  const marked = node.metadata.annotations?.[NOT_READY_SINCE_ANNOTATION];
  const ref = { apiVersion: node.apiVersion, kind: node.kind, namespace: node.metadata.namespace, name: node.metadata.name, uid: node.metadata.uid };
  // Every mark change is a Ready transition: recorded for flap damping (reconcilers/ready-transitions.ts).
  const setMark = (value: string | null) => ({ ref, patch: { metadata: { annotations: { [NOT_READY_SINCE_ANNOTATION]: value, [READY_TRANSITIONS_ANNOTATION]: appendReadyTransition(node, now) } } } });

  // The agent said it stopped: it is down already, nothing to wait for.
  if (ready?.status === 'False' && ready.reason === NodeConditionReasons.AgentStopped) {
    if (marked) return {};
    return {
      patch: [setMark(iso(now))],
      events: [{ type: 'Warning', reason: NodeEventReasons.NodeNotReady, message: `node agent stopped: ${ready.message ?? 'graceful shutdown'}` }],
    };
  }

  const last = lastHeartbeatMs(node) ?? now;
  const deadline = Math.max(last, input.managerStartedAt) + policy.gracePeriodMs;
  if (now < deadline) {
    const result: ReconcileResult = { requeueAfter: deadline - now };
    if (ready?.status === 'True' && marked) {
      result.patch = [setMark(null)];
      result.events = [{ type: 'Normal', reason: NodeEventReasons.NodeReady, message: 'node agent is heartbeating again' }];
    }
    return result;
  }

  // Lost. Write once: repeating the status would churn resourceVersions for every silent node.
  const events: EventSpec[] = [];
  const result: ReconcileResult = {};
  if (!(ready?.status === 'Unknown' && ready.reason === NodeConditionReasons.NodeStatusUnknown)) {
    const silentFor = formatDuration(Math.max(0, now - last));
    const message = `no heartbeat for ${silentFor} (grace period ${formatDuration(policy.gracePeriodMs)})`;
    const cond: Condition = {
      type: 'Ready', status: 'Unknown', reason: NodeConditionReasons.NodeStatusUnknown, message, lastTransitionTime: iso(now),
    };
    const others = ((node.status?.conditions as Condition[] | undefined) ?? []).filter((c) => c.type !== 'Ready');
    result.status = { ...(node.status ?? {}), conditions: [...others, cond] };
    events.push({ type: 'Warning', reason: NodeEventReasons.NodeNotReady, message });
  }
  if (!marked) result.patch = [setMark(iso(now))];
  if (events.length) result.events = events;
  return result;
}

/** RFC 3339 with milliseconds, like lastHeartbeatTime. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

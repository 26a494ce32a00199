// What the rebalancer reads from objects: Cluster and AgentDeployment policy, the annotations that
// track make-before-break moves, and flap damping. Pure: the caller passes `now`.
import type { Condition, KubeObject } from '../core/types.ts';
import { parseDuration } from '../core/duration.ts';

export const Annotations = {
  /** On a replacement Agent: the name of the Agent it replaces (make-before-break). */
  replaces: 'drover.dev/replaces',
  /** RFC 3339 time an Agent was last created by a move; the per-agent cooldown counts from it. */
  lastMoved: 'drover.dev/last-moved',
  /** Who created a replacement, so each mover only finishes its own moves. */
  movedBy: 'drover.dev/moved-by',
  /** The plan's explanation of a move, repeated in the Rebalanced Event. */
  moveReason: 'drover.dev/move-reason',
  /** On a Cluster: "run a rebalance round now" (RFC 3339), written by the rebalance API. */
  rebalanceRequested: 'drover.dev/rebalance-requested',
  /** On a Node: JSON list of RFC 3339 times its Ready condition changed (node-lifecycle controller). */
  readyTransitions: 'drover.dev/ready-transitions',
} as const;

export const DEPLOYMENT_LABEL = 'drover.dev/deployment';
export const REBALANCER = 'rebalancer';
export const COOLDOWN_MS = 5 * 60_000;
export const FLAP_WINDOW_MS = 5 * 60_000;
export const FLAP_MAX_TRANSITIONS = 3;
export const FLAP_STABLE_MS = 2 * 60_000;

export interface RebalancePolicy {
  enabled: boolean;
  intervalMs: number;
  threshold: number;
  maxMigrationsPerRound: number;
}

export const DEFAULT_REBALANCE_POLICY: RebalancePolicy = { enabled: false, intervalMs: 5 * 60_000, threshold: 0.2, maxMigrationsPerRound: 5 };

function durationOr(text: unknown, dflt: number): number {
  if (typeof text !== 'string') return dflt;
  try {
    return parseDuration(text);
  } catch {
    return dflt; // the API validates the pattern; only hand-written store data lands here
  }
}

const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});

export function rebalancePolicyOf(cluster: KubeObject | undefined): RebalancePolicy {
  const p = rec(rec(cluster?.spec).rebalancePolicy);
  const d = DEFAULT_REBALANCE_POLICY;
  return {
    enabled: p.enabled === true,
    intervalMs: durationOr(p.interval, d.intervalMs),
    threshold: typeof p.threshold === 'number' ? p.threshold : d.threshold,
    maxMigrationsPerRound: typeof p.maxMigrationsPerRound === 'number' ? p.maxMigrationsPerRound : d.maxMigrationsPerRound,
  };
}

export interface DeploymentMovePolicy {
  rebalanceEnabled: boolean;
  minAgeMs: number;
  /** Replicas that may be unavailable at once (moves in flight count). */
  maxUnavailable: number;
  migrationTimeoutMs: number;
}

/** maxUnavailable as a number or "N%" of spec.replicas (rounded up, like a PodDisruptionBudget). */
export function resolveMaxUnavailable(v: unknown, replicas: number): number {
  if (typeof v === 'number') return Math.max(0, Math.floor(v));
  if (typeof v === 'string') {
    const m = /^(\d+)(%?)$/.exec(v);
    if (m) return m[2] ? Math.ceil((replicas * Number(m[1])) / 100) : Number(m[1]);
  }
  return 1;
}

export function deploymentMovePolicy(d: KubeObject): DeploymentMovePolicy {
  const spec = rec(d.spec);
  const rb = rec(spec.rebalance);
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  return {
    rebalanceEnabled: rb.enabled !== false,
    minAgeMs: durationOr(rb.minAge, 60_000),
    maxUnavailable: resolveMaxUnavailable(rec(spec.disruption).maxUnavailable, replicas),
    migrationTimeoutMs: durationOr(rec(spec.migration).timeout, 60_000),
  };
}

export function deploymentOf(agent: KubeObject): string | undefined {
  const label = agent.metadata.labels?.[DEPLOYMENT_LABEL];
  if (label) return label;
  return agent.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'AgentDeployment')?.name;
}

export function timeMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

export function isNodeReady(node: KubeObject): boolean {
  return ((node.status?.conditions as Condition[] | undefined) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Flap damping: a node whose Ready condition changed more than 3 times within 5 minutes is not a
 * target until it has been stable for 2 minutes.
 */
export function isFlapping(node: KubeObject, now: number): boolean {
  const raw = node.metadata.annotations?.[Annotations.readyTransitions];
  if (!raw) return false;
  let times: number[];
  try {
    const parsed: unknown = JSON.parse(raw);
    times = (Array.isArray(parsed) ? parsed : []).map(timeMs).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  } catch {
    return false; // a garbled annotation must not keep a node out of placement forever
  }
  const last = times[times.length - 1];
  if (last === undefined || now - last >= FLAP_STABLE_MS) return false;
  return times.filter((t) => t > last - FLAP_WINDOW_MS).length > FLAP_MAX_TRANSITIONS;
}

export function flappingNodes(nodes: KubeObject[], now: number): Set<string> {
  return new Set(nodes.filter((n) => isFlapping(n, now)).map((n) => n.metadata.name));
}

/** Replacement Agents whose old Agent still exists: moves still in flight (old name → replacement). */
export function inFlightReplacements(agents: KubeObject[]): Map<string, KubeObject> {
  const names = new Set(agents.map((a) => a.metadata.name));
  const out = new Map<string, KubeObject>();
  for (const a of agents) {
    const old = a.metadata.annotations?.[Annotations.replaces];
    if (old && names.has(old) && !a.metadata.deletionTimestamp) out.set(old, a);
  }
  return out;
}

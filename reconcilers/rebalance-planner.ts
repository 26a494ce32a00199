// The rebalance planner (pure): while the load imbalance (max − mean ratio over healthy agent hosts)
// exceeds the Cluster's threshold, move one Running agent from the most loaded container to the least
// loaded feasible one, within the round's limit, each deployment's disruption budget, minAge and the
// per-agent cooldown. Loads are those of core/agent-host-load.ts, so the plan agrees with Cluster status.
import type { KubeObject } from '../core/types.ts';
import { agentHostLoad, boundContainer, containerNode, isAgentHost } from '../core/agent-host-load.ts';
import { feasibleContainers, type SchedulerView } from './agent-scheduler.ts';
import {
  Annotations, COOLDOWN_MS, deploymentMovePolicy, deploymentOf, flappingNodes, inFlightReplacements, isNodeReady,
  rebalancePolicyOf, timeMs,
} from './rebalance-policy.ts';

export interface RebalanceView {
  nodes: KubeObject[];
  containers: KubeObject[];
  agents: KubeObject[];
  deployments: KubeObject[];
  cluster: KubeObject;
}

export interface LoadRow {
  container: string;
  node: string;
  agents: number;
  capacity: number;
  ratio: number;
}

export interface Placement {
  container: string;
  node: string;
}

export interface PlannedMove {
  agent: string;
  deployment: string;
  from: Placement;
  to: Placement;
  reason: string;
}

export interface RebalancePlan {
  moves: PlannedMove[];
  before: LoadRow[];
  after: LoadRow[];
  imbalanceBefore: number;
  imbalanceAfter: number;
  threshold: number;
  maxMoves: number;
  skipped: Array<{ agent: string; reason: string }>;
  /** When agents skipped only for being younger than minAge become movable (the round is worth retrying then). */
  retryAt?: number;
}

export interface PlanOptions {
  /** Upper bound on moves (the Cluster's maxMigrationsPerRound still applies). */
  maxMoves?: number;
}

export const SkipReasons = {
  notRunning: 'not Running',
  terminating: 'terminating',
  noDeployment: 'no AgentDeployment owns it',
  disabled: 'rebalance disabled for its deployment',
  tooYoung: 'younger than minAge',
  cooldown: 'moved less than 5m ago',
  inFlight: 'a move of it is in flight',
  budget: 'disruption budget of its deployment is used up',
  noTarget: 'no feasible container with lower load',
} as const;

const EPS = 1e-9;
const r3 = (n: number) => Math.round(n * 1000) / 1000;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** max − mean of the ratios (0 without rows). */
export function imbalanceOf(rows: LoadRow[]): number {
  if (rows.length === 0) return 0;
  const max = Math.max(...rows.map((r) => r.ratio));
  const mean = rows.reduce((s, r) => s + r.ratio, 0) / rows.length;
  return r3(max - mean);
}

/** Agent hosts that may give or take agents: Running on a Ready, uncordoned node that is not flapping. */
export function healthyHosts(view: Pick<RebalanceView, 'nodes' | 'containers'>, flapping: Set<string>): KubeObject[] {
  const nodes = new Map(view.nodes.map((n) => [n.metadata.name, n]));
  return view.containers.filter((c) => {
    if (!isAgentHost(c) || c.status?.phase !== 'Running' || c.metadata.deletionTimestamp) return false;
    const node = nodes.get(containerNode(c));
    return !!node && isNodeReady(node) && node.spec?.unschedulable !== true && !flapping.has(node.metadata.name);
  });
}

export function loadRows(hosts: KubeObject[], agents: KubeObject[]): LoadRow[] {
  return agentHostLoad(hosts, agents).load.map((l) => ({ container: l.container, node: l.node, agents: l.agents, capacity: l.capacity, ratio: l.ratio }));
}

function rebind(agent: KubeObject, container: string, now: number): KubeObject {
  return {
    ...agent,
    metadata: { ...agent.metadata, annotations: { ...agent.metadata.annotations, [Annotations.lastMoved]: new Date(now).toISOString() } },
    spec: { ...agent.spec, containerName: container },
  };
}

export function planRebalance(view: RebalanceView, now: number, opts: PlanOptions = {}): RebalancePlan {
  const policy = rebalancePolicyOf(view.cluster);
  const maxMoves = Math.max(0, Math.min(opts.maxMoves ?? Infinity, policy.maxMigrationsPerRound));
  const flapping = flappingNodes(view.nodes, now);
  const hosts = healthyHosts(view, flapping);
  const hostByName = new Map(hosts.map((c) => [c.metadata.name, c]));
  const policies = new Map(view.deployments.map((d) => [d.metadata.name, deploymentMovePolicy(d)]));

  // Disruption budget in use: agents not Running plus moves in flight (a pair counts once).
  const inFlight = inFlightReplacements(view.agents);
  const replacementNames = new Set([...inFlight.values()].map((a) => a.metadata.name));
  const unavailable = new Map<string, number>();
  for (const a of view.agents) {
    const dep = deploymentOf(a);
    if (!dep || a.metadata.deletionTimestamp) continue;
    if (replacementNames.has(a.metadata.name) || a.status?.phase !== 'Running') unavailable.set(dep, (unavailable.get(dep) ?? 0) + 1);
  }

  let work = view.agents.slice();
  const schedulerView = (): SchedulerView => ({ nodes: view.nodes, containers: view.containers, agents: work, now, flappingNodes: flapping });
  const moved = new Set<string>();
  const skipped = new Map<string, string>();
  const moves: PlannedMove[] = [];
  let retryAt: number | undefined;

  const whyNot = (a: KubeObject): string | undefined => {
    if (a.metadata.deletionTimestamp) return SkipReasons.terminating;
    if (inFlight.has(a.metadata.name) || replacementNames.has(a.metadata.name)) return SkipReasons.inFlight;
    if (a.status?.phase !== 'Running') return SkipReasons.notRunning;
    const dep = deploymentOf(a);
    const p = dep ? policies.get(dep) : undefined;
    if (!dep || !p) return SkipReasons.noDeployment;
    if (!p.rebalanceEnabled) return SkipReasons.disabled;
    const lastMoved = timeMs(a.metadata.annotations?.[Annotations.lastMoved]);
    if (lastMoved !== undefined && now - lastMoved < COOLDOWN_MS) return SkipReasons.cooldown;
    const started = timeMs(a.status?.startedAt) ?? timeMs(a.metadata.creationTimestamp);
    if (started === undefined || now - started < p.minAgeMs) {
      if (started !== undefined) retryAt = Math.min(retryAt ?? Infinity, started + p.minAgeMs);
      return SkipReasons.tooYoung;
    }
    if ((unavailable.get(dep) ?? 0) >= p.maxUnavailable) return SkipReasons.budget;
    return undefined;
  };

  /** The first target, least loaded first, that lowers the pair's peak load; undefined if none does. */
  const bestTarget = (a: KubeObject, src: LoadRow, rows: LoadRow[]): { row: LoadRow; peakAfter: number } | undefined => {
    const feasible = new Set(feasibleContainers(a, schedulerView()).feasible.map((c) => c.metadata.name));
    const candidates = rows.filter((r) => r.container !== src.container && feasible.has(r.container))
      .sort((x, y) => x.ratio - y.ratio || byName(x.container, y.container));
    for (const tgt of candidates) {
      if (tgt.ratio >= src.ratio - EPS) break;
      const after = work.map((w) => (w === a ? rebind(a, tgt.container, now) : w));
      const pair = loadRows([hostByName.get(src.container)!, hostByName.get(tgt.container)!], after);
      const peakAfter = Math.max(...pair.map((r) => r.ratio));
      if (peakAfter < src.ratio - EPS) return { row: tgt, peakAfter };
    }
    return undefined;
  };

  const before = loadRows(hosts, work);
  while (moves.length < maxMoves) {
    const rows = loadRows(hosts, work);
    const imbalance = imbalanceOf(rows);
    if (imbalance <= policy.threshold + EPS) break;
    const mean = rows.reduce((s, r) => s + r.ratio, 0) / rows.length;
    let done = false;
    // rows come highest ratio first (ties by name): the most loaded container gives first
    for (const src of rows) {
      if (src.ratio <= mean + EPS) break;
      const onSrc = work.filter((a) => boundContainer(a) === src.container && !moved.has(a.metadata.name))
        .sort((x, y) => byName(x.metadata.name, y.metadata.name));
      for (const a of onSrc) {
        const why = whyNot(a);
        if (why) {
          skipped.set(a.metadata.name, why);
          continue;
        }
        const target = bestTarget(a, src, rows);
        if (!target) {
          skipped.set(a.metadata.name, SkipReasons.noTarget);
          continue;
        }
        const dep = deploymentOf(a)!;
        const tgtHost = hostByName.get(target.row.container)!;
        moves.push({
          agent: a.metadata.name,
          deployment: dep,
          from: { container: src.container, node: src.node },
          to: { container: target.row.container, node: containerNode(tgtHost) },
          reason: `load ${src.ratio} → ${r3(target.peakAfter)}`,
        });
        work = work.map((w) => (w === a ? rebind(a, target.row.container, now) : w));
        moved.add(a.metadata.name);
        skipped.delete(a.metadata.name);
        unavailable.set(dep, (unavailable.get(dep) ?? 0) + 1);
        done = true;
        break;
      }
      if (done) break;
    }
    if (!done) break;
  }
  const after = loadRows(hosts, work);
  return {
    moves,
    before,
    after,
    imbalanceBefore: imbalanceOf(before),
    imbalanceAfter: imbalanceOf(after),
    threshold: policy.threshold,
    maxMoves,
    skipped: [...skipped].map(([agent, reason]) => ({ agent, reason })).sort((x, y) => byName(x.agent, y.agent)),
    // worth a retry only if the load is still off and nothing moved for want of older agents
    ...(retryAt !== undefined && moves.length === 0 && imbalanceOf(after) > policy.threshold ? { retryAt } : {}),
  };
}

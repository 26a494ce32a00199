// Pure Container → Node placement, Nomad style: ordered feasibility filters that each name why a
// node is rejected, then scorers in [0,1] that are weighted and averaged; ties go to the node name.
import type { Condition, KubeObject } from '../core/types.ts';
import type { NodeSpec, NodeStatus, NodeTaint, ContainerSpec, ContainerToleration } from '../core/kinds.generated.ts';
import { cpuMillis, memoryBytes } from '../core/quantity.ts';

/** What placement may look at: the namespace's Nodes and Containers (read-only). */
export interface PlacementView {
  nodes: KubeObject[];
  containers: KubeObject[];
  /** Containers bound to a node (an index lookup); without it, `containers` is scanned. */
  boundTo?: (node: string) => KubeObject[];
}

/** A rejection reason, or null when the node is feasible. */
export type PlacementFilter = (node: KubeObject, container: KubeObject, view: PlacementView) => string | null;
/** A score in [0,1]; higher is better. */
export type PlacementScorer = (node: KubeObject, container: KubeObject, view: PlacementView) => number;

export interface WeightedScorer {
  name: string;
  weight: number;
  score: PlacementScorer;
}

export type PlacementResult =
  | { node: string; score: number }
  | { reasons: Record<string, number>; message: string };

export const PlacementReasons = {
  NotReady: 'not ready',
  Cordoned: 'unschedulable (cordoned)',
  NodeNameMismatch: 'node name mismatch',
  SelectorMismatch: 'node selector mismatch',
  InsufficientCpu: 'insufficient cpu',
  InsufficientMemory: 'insufficient memory',
  TooManyContainers: 'too many containers',
} as const;

/** `untolerated taint <key>`: the one reason that carries data. */
export const untoleratedTaint = (key: string): string => `untolerated taint ${key}`;

// ---- reading objects ----

const specOf = (c: KubeObject) => (c.spec ?? {}) as ContainerSpec;
const nodeSpecOf = (n: KubeObject) => (n.spec ?? {}) as NodeSpec;
const nodeStatusOf = (n: KubeObject) => (n.status ?? {}) as NodeStatus;

export function isNodeReady(node: KubeObject): boolean {
  if (node.metadata.deletionTimestamp) return false;
  const conds = (node.status?.conditions as Condition[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Labels nodeSelector sees: the agent-reported spec.labels, overridden by metadata.labels. */
export function nodeLabels(node: KubeObject): Record<string, string> {
  return { ...(nodeSpecOf(node).labels ?? {}), ...(node.metadata.labels ?? {}) };
}

/** The node a container is bound to (the manager's binding, status.nodeName). */
export function boundNode(c: KubeObject): string | undefined {
  const n = c.status?.nodeName;
  return typeof n === 'string' && n !== '' ? n : undefined;
}

/** Containers bound to `node`, other than `self`: their requests are taken. */
function othersOn(node: string, self: KubeObject, view: PlacementView): KubeObject[] {
  const on = view.boundTo ? view.boundTo(node).filter((c) => boundNode(c) === node) : view.containers.filter((c) => boundNode(c) === node);
  return on.filter((c) => c.metadata.name !== self.metadata.name);
}

/** A malformed quantity (the API validates, so only hand-written data) counts as zero. */
function quantity(f: (q: number | string) => number, q: unknown): number | undefined {
  if (typeof q !== 'number' && typeof q !== 'string') return undefined;
  try {
    return f(q);
  } catch {
    return undefined; // treated as "not stated", like a missing field
  }
}

function requests(c: KubeObject): { cpu: number; memory: number } {
  const r = (specOf(c).resources?.requests ?? {}) as Record<string, unknown>;
  return { cpu: quantity(cpuMillis, r.cpu) ?? 0, memory: quantity(memoryBytes, r.memory) ?? 0 };
}

/** allocatable (else capacity); an unreported dimension is unlimited. */
function allocatable(node: KubeObject): { cpu?: number; memory?: number; containers?: number } {
  const st = nodeStatusOf(node);
  const a = (st.allocatable ?? st.capacity ?? {}) as Record<string, unknown>;
  return {
    cpu: quantity(cpuMillis, a.cpu),
    memory: quantity(memoryBytes, a.memory),
    containers: typeof a.containers === 'number' ? a.containers : undefined,
  };
}

function used(node: KubeObject, self: KubeObject, view: PlacementView): { cpu: number; memory: number; containers: number } {
  const others = othersOn(node.metadata.name, self, view);
  let cpu = 0;
  let memory = 0;
  for (const o of others) {
    const r = requests(o);
    cpu += r.cpu;
    memory += r.memory;
  }
  return { cpu, memory, containers: others.length };
}

function tolerates(tolerations: ContainerToleration[], taint: NodeTaint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

// ---- filters (order matters: a node is counted under the first reason that rejects it) ----

const pinnedTo = (c: KubeObject) => specOf(c).nodeName || undefined;

export const notReady: PlacementFilter = (node) => (isNodeReady(node) ? null : PlacementReasons.NotReady);

/** A pin wins over a cordon, like a Kubernetes pod with nodeName set. */
export const cordoned: PlacementFilter = (node, c) =>
  nodeSpecOf(node).unschedulable && pinnedTo(c) !== node.metadata.name ? PlacementReasons.Cordoned : null;

export const nodeNameMatches: PlacementFilter = (node, c) => {
  const pin = pinnedTo(c);
  return pin && pin !== node.metadata.name ? PlacementReasons.NodeNameMismatch : null;
};

export const nodeSelectorMatches: PlacementFilter = (node, c) => {
  const labels = nodeLabels(node);
  const sel = specOf(c).nodeSelector ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v) ? null : PlacementReasons.SelectorMismatch;
};

export const taintsTolerated: PlacementFilter = (node, c) => {
  const tolerations = specOf(c).tolerations ?? [];
  for (const taint of nodeSpecOf(node).taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue; // a preference, scored not filtered
    if (!tolerates(tolerations, taint)) return untoleratedTaint(taint.key);
  }
  return null;
};

export const cpuFits: PlacementFilter = (node, c, view) => {
  const cap = allocatable(node).cpu;
  const want = requests(c).cpu;
  return cap !== undefined && want > 0 && used(node, c, view).cpu + want > cap ? PlacementReasons.InsufficientCpu : null;
};

export const memoryFits: PlacementFilter = (node, c, view) => {
  const cap = allocatable(node).memory;
  const want = requests(c).memory;
  return cap !== undefined && want > 0 && used(node, c, view).memory + want > cap ? PlacementReasons.InsufficientMemory : null;
};

export const containerSlotFree: PlacementFilter = (node, c, view) => {
  const cap = allocatable(node).containers;
  return cap !== undefined && used(node, c, view).containers + 1 > cap ? PlacementReasons.TooManyContainers : null;
};

export const defaultFilters: readonly PlacementFilter[] = [
  notReady, nodeNameMatches, cordoned, nodeSelectorMatches, taintsTolerated, cpuFits, memoryFits, containerSlotFree,
];

// ---- scorers ----

/** Free fraction after placing, averaged over the dimensions the node reports (Kubernetes LeastAllocated). */
export const leastAllocated: PlacementScorer = (node, c, view) => {
  const cap = allocatable(node);
  const u = used(node, c, view);
  const want = requests(c);
  const free = (total: number | undefined, taken: number) => (total === undefined || total <= 0 ? undefined : Math.max(0, (total - taken) / total));
  const parts = [free(cap.cpu, u.cpu + want.cpu), free(cap.memory, u.memory + want.memory), free(cap.containers, u.containers + 1)]
    .filter((x): x is number => x !== undefined);
  return parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : 1;
};

/** Fewer containers matching spec.spread.matchLabels on the node is better; no spread → neutral. */
export const spreadByLabels: PlacementScorer = (node, c, view) => {
  const match = specOf(c).spread?.matchLabels;
  if (!match) return 1;
  const n = othersOn(node.metadata.name, c, view)
    .filter((o) => Object.entries(match).every(([k, v]) => o.metadata.labels?.[k] === v)).length;
  return 1 / (1 + n);
};

/** Prefer nodes without PreferNoSchedule taints the container does not tolerate. */
export const preferredTaints: PlacementScorer = (node, c) => {
  const tolerations = specOf(c).tolerations ?? [];
  const soft = (nodeSpecOf(node).taints ?? []).filter((t) => t.effect === 'PreferNoSchedule' && !tolerates(tolerations, t));
  return 1 / (1 + soft.length);
};

// Spread outweighs bin-packing so a spread request is honoured even across unevenly loaded nodes.
export const defaultScorers: readonly WeightedScorer[] = [
  { name: 'least-allocated', weight: 1, score: leastAllocated },
  { name: 'spread', weight: 3, score: spreadByLabels },
  { name: 'prefer-no-schedule', weight: 1, score: preferredTaints },
];

export interface PlacementOptions {
  filters?: readonly PlacementFilter[];
  scorers?: readonly WeightedScorer[];
}

/** Pick a node for `container`, or say how many nodes each reason ruled out. */
export function placeContainer(container: KubeObject, view: PlacementView, opts: PlacementOptions = {}): PlacementResult {
  const filters = opts.filters ?? defaultFilters;
  const scorers = opts.scorers ?? defaultScorers;
  const counted: Array<{ reason: string; filter: number; count: number }> = [];
  const feasible: KubeObject[] = [];
  for (const node of [...view.nodes].sort(byName)) {
    let reason: string | null = null;
    let i = 0;
    for (; i < filters.length; i++) {
      reason = filters[i](node, container, view);
      if (reason) break;
    }
    if (!reason) feasible.push(node);
    else {
      const seen = counted.find((x) => x.reason === reason);
      if (seen) seen.count++;
      else counted.push({ reason, filter: i, count: 1 });
    }
  }
  if (feasible.length === 0) {
    // Reasons in filter order, so the message reads the same whatever the node names are.
    counted.sort((a, b) => a.filter - b.filter);
    const reasons = Object.fromEntries(counted.map((x) => [x.reason, x.count]));
    return { reasons, message: unschedulableMessage(view.nodes.length, reasons) };
  }

  const totalWeight = scorers.reduce((a, s) => a + s.weight, 0) || 1;
  let best: { node: string; score: number } | undefined;
  for (const node of feasible) {
    const score = scorers.reduce((a, s) => a + s.weight * clamp01(s.score(node, container, view)), 0) / totalWeight;
    // Sorted by name, so strict > keeps the first name on a tie.
    if (!best || score > best.score + 1e-9) best = { node: node.metadata.name, score };
  }
  return best!;
}

/** `0/3 nodes: 1 not ready, 2 insufficient memory` (reasons in insertion order). */
export function unschedulableMessage(total: number, reasons: Record<string, number>): string {
  if (total === 0) return '0/0 nodes: no nodes have joined this cluster';
  return `0/${total} nodes: ${Object.entries(reasons).map(([r, n]) => `${n} ${r}`).join(', ')}`;
}

const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

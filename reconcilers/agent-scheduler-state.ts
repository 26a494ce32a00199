// The scheduler's working state: a read-only view indexed once (containers by name with their node,
// capacity and current allocation; agents as requests) and updated incrementally as a batch binds,
// so scoring 10,000 agents against 1,000 containers never rescans the view.
import type { KubeObject } from '../core/types.ts';
import type { AgentPlacement, AgentSpec, ContainerSpec, NodeSpec } from '../core/kinds.generated.ts';
import { cpuMillis, memoryBytes } from '../core/quantity.ts';
import { labelSelectorFromObject, matchesLabels, type LabelSelector } from '../core/selectors.ts';
import { isNodeReady, nodeLabels } from './container-placement.ts';

export const DEPLOYMENT_LABEL = 'drover.dev/deployment';
export const READY_TRANSITIONS_ANNOTATION = 'drover.dev/ready-transitions';
/** capacity.agents when a Container's agentHost does not say. */
export const DEFAULT_AGENT_CAPACITY = 10;

export const Strategies = ['RoundRobin', 'LeastLoaded', 'CapabilityMatch', 'ResourceOptimal', 'Spread'] as const;
export type Strategy = (typeof Strategies)[number];

export interface SchedulerView {
  nodes: KubeObject[];
  containers: KubeObject[];
  agents: KubeObject[];
  now: number;
  flappingNodes?: Set<string>;
}

export interface ScheduleOptions {
  seed?: string;
  /** RoundRobin cursor per deployment key `ns/name`: index (in name order) of the last container chosen. */
  cursors?: Record<string, number>;
  /** agent name → containers it may not go to (e.g. the one it is leaving). */
  exclude?: Record<string, string[]>;
}

/** Flap damping: more than `maxTransitions` Ready changes within `windowMs`, and not yet stable for `stableMs`. */
export const FLAP_DAMPING = { maxTransitions: 3, windowMs: 5 * 60_000, stableMs: 2 * 60_000 } as const;

/** Reads the node-lifecycle controller's JSON list of Ready transition times (RFC 3339). */
export function isNodeFlapping(node: KubeObject, now: number, damping = FLAP_DAMPING): boolean {
  const raw = node.metadata.annotations?.[READY_TRANSITIONS_ANNOTATION];
  if (!raw) return false;
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return false; // a garbled annotation must not take a node out of service
  }
  if (!Array.isArray(list)) return false;
  const times = list.map((t) => (typeof t === 'string' ? Date.parse(t) : NaN)).filter(Number.isFinite).sort((a, b) => a - b);
  if (times.length === 0) return false;
  const last = times[times.length - 1];
  if (now - last >= damping.stableMs) return false;
  return times.filter((t) => t > last - damping.windowMs).length > damping.maxTransitions;
}

/** A malformed quantity (only possible in hand-written store data) counts as not stated. */
function quantity(f: (q: number | string) => number, q: unknown): number | undefined {
  if (typeof q !== 'number' && typeof q !== 'string') return undefined;
  try {
    return f(q);
  } catch {
    return undefined; // the API validates quantities; treat a bad one like a missing field
  }
}

export interface ContainerState {
  obj: KubeObject;
  name: string;
  /** Position in name order (RoundRobin cursors point here). */
  index: number;
  nodeName: string;
  node: KubeObject | undefined;
  running: boolean;
  nodeReady: boolean;
  cordoned: boolean;
  flapping: boolean;
  agentHost: boolean;
  capabilities: Set<string>;
  labels: Record<string, string>;
  capAgents: number;
  /** undefined = unlimited */
  capCpu: number | undefined;
  capMemory: number | undefined;
  /** Allocated: bound agents and the sum of their requests (millicores, bytes). */
  agents: number;
  cpu: number;
  memory: number;
}

/** Agents of one deployment per topology domain; `ids` maps a container index to its domain. */
export interface SpreadCounts {
  ids: Int32Array;
  counts: Int32Array;
}

export interface AgentRequest {
  obj: KubeObject;
  name: string;
  /** `ns/deployment`; an agent without a deployment is its own group. */
  deployment: string;
  cpu: number;
  memory: number;
  strategy: Strategy;
  spreadBy: string;
  /** Deduplicated. */
  required: string[];
  /** Deduplicated, without capabilities that are also required. */
  preferred: string[];
  /** null = no selector; 'invalid' = selects nothing. */
  selector: LabelSelector | null | 'invalid';
  selectorKey: string;
  maxPerContainer: number | undefined;
  exclude: Set<string> | undefined;
  /** Live per-batch lookups (see SchedulerState): selector result and agents of this deployment per container index. */
  selectorRow: Uint8Array | undefined;
  perContainer: Int32Array;
  /** Set for the Spread strategy. */
  spread: SpreadCounts | undefined;
}

export function containerNodeName(c: KubeObject): string {
  const st = c.status?.nodeName;
  if (typeof st === 'string' && st) return st;
  const sp = (c.spec as ContainerSpec | undefined)?.nodeName;
  return typeof sp === 'string' ? sp : '';
}

export function agentRequests(agent: KubeObject): { cpu: number; memory: number } {
  const r = ((agent.spec as AgentSpec | undefined)?.resources?.requests ?? {}) as Record<string, unknown>;
  return { cpu: quantity(cpuMillis, r.cpu) ?? 0, memory: quantity(memoryBytes, r.memory) ?? 0 };
}

export function deploymentKey(agent: KubeObject): string {
  const ns = agent.metadata.namespace ?? '';
  const label = agent.metadata.labels?.[DEPLOYMENT_LABEL];
  if (label) return `${ns}/${label}`;
  const owner = agent.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'AgentDeployment');
  return owner ? `${ns}/${owner.name}` : `${ns}/agent:${agent.metadata.name}`;
}

/** The container an agent counts against: spec.containerName unless it is being deleted. */
export function boundContainer(agent: KubeObject): string | undefined {
  if (agent.metadata.deletionTimestamp) return undefined;
  const c = (agent.spec as AgentSpec | undefined)?.containerName;
  return typeof c === 'string' && c ? c : undefined;
}

const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

export class SchedulerState {
  readonly view: SchedulerView;
  readonly containers: ContainerState[];
  readonly byName = new Map<string, ContainerState>();
  /** deployment → agents of it per container index. */
  private readonly perContainer = new Map<string, Int32Array>();
  /** spreadBy → topology domain id per container index, and how many domains there are. */
  private readonly domains = new Map<string, { ids: Int32Array; size: number }>();
  /** `spreadBy|deployment` → agents of that deployment per domain id (built lazily). */
  private readonly domainCounts = new Map<string, SpreadCounts>();
  private readonly spreadsByDeployment = new Map<string, SpreadCounts[]>();
  private readonly selectorCache = new Map<string, Uint8Array>();

  /** `skip`: agents whose current binding must not count (they are the ones being placed). */
  constructor(view: SchedulerView, skip: ReadonlySet<string> = new Set()) {
    this.view = view;
    const nodes = new Map(view.nodes.map((n) => [n.metadata.name, n]));
    this.containers = [...view.containers].sort(byName).map((c, index) => {
      const spec = (c.spec ?? {}) as ContainerSpec;
      const host = spec.agentHost;
      const nodeName = containerNodeName(c);
      const node = nodes.get(nodeName);
      const cs: ContainerState = {
        obj: c,
        name: c.metadata.name,
        index,
        nodeName,
        node,
        running: c.status?.phase === 'Running' && !c.metadata.deletionTimestamp,
        nodeReady: node !== undefined && isNodeReady(node),
        cordoned: node !== undefined && ((node.spec ?? {}) as NodeSpec).unschedulable === true,
        flapping: node !== undefined && (view.flappingNodes ? view.flappingNodes.has(nodeName) : isNodeFlapping(node, view.now)),
        agentHost: host !== undefined && host !== null,
        capabilities: new Set(host?.capabilities ?? []),
        labels: c.metadata.labels ?? {},
        capAgents: typeof host?.capacity?.agents === 'number' ? host.capacity.agents : DEFAULT_AGENT_CAPACITY,
        capCpu: quantity(cpuMillis, host?.capacity?.cpu),
        capMemory: quantity(memoryBytes, host?.capacity?.memory),
        agents: 0,
        cpu: 0,
        memory: 0,
      };
      this.byName.set(cs.name, cs);
      return cs;
    });
    for (const a of view.agents) {
      if (skip.has(a.metadata.name)) continue;
      const c = boundContainer(a);
      const cs = c === undefined ? undefined : this.byName.get(c);
      if (cs) this.add(cs, deploymentKey(a), agentRequests(a));
    }
  }

  private add(cs: ContainerState, deployment: string, r: { cpu: number; memory: number }): void {
    cs.agents++;
    cs.cpu += r.cpu;
    cs.memory += r.memory;
    this.deploymentRow(deployment)[cs.index]++;
  }

  /** Count a new binding against the container (and every spread index of its deployment). */
  bind(cs: ContainerState, a: AgentRequest): void {
    this.add(cs, a.deployment, a);
    for (const s of this.spreadsByDeployment.get(a.deployment) ?? []) s.counts[s.ids[cs.index]]++;
  }

  /** Agents of `deployment` per container index (live: updated by bind). */
  deploymentRow(deployment: string): Int32Array {
    let row = this.perContainer.get(deployment);
    if (!row) {
      row = new Int32Array(this.containers.length);
      this.perContainer.set(deployment, row);
    }
    return row;
  }

  /** The topology domain of a container: its node, itself, or the value of a Node label. */
  domainOf(cs: ContainerState, spreadBy: string): string {
    if (spreadBy === 'node') return cs.nodeName;
    if (spreadBy === 'container') return cs.name;
    return cs.node ? (nodeLabels(cs.node)[spreadBy] ?? '') : '';
  }

  /** Agents of `deployment` per topology domain (live: updated by bind). */
  spreadCounts(deployment: string, spreadBy: string): SpreadCounts {
    const key = `${spreadBy}|${deployment}`;
    let s = this.domainCounts.get(key);
    if (!s) {
      let d = this.domains.get(spreadBy);
      if (!d) {
        const idOf = new Map<string, number>();
        const ids = Int32Array.from(this.containers, (c) => {
          const name = this.domainOf(c, spreadBy);
          let id = idOf.get(name);
          if (id === undefined) idOf.set(name, (id = idOf.size));
          return id;
        });
        d = { ids, size: idOf.size };
        this.domains.set(spreadBy, d);
      }
      const counts = new Int32Array(d.size);
      const row = this.deploymentRow(deployment);
      for (let i = 0; i < row.length; i++) counts[d.ids[i]] += row[i];
      s = { ids: d.ids, counts };
      this.domainCounts.set(key, s);
      this.spreadsByDeployment.set(deployment, [...(this.spreadsByDeployment.get(deployment) ?? []), s]);
    }
    return s;
  }

  /** Selector results per container, cached per distinct selector: a deployment's agents share one. */
  private selectorRow(sel: AgentRequest['selector'], key: string): Uint8Array | undefined {
    if (sel === null) return undefined;
    let row = this.selectorCache.get(key);
    if (!row) {
      row = Uint8Array.from(this.containers, (c) => (sel !== 'invalid' && matchesLabels(sel, c.labels) ? 1 : 0));
      this.selectorCache.set(key, row);
    }
    return row;
  }

  request(agent: KubeObject, opts: ScheduleOptions = {}): AgentRequest {
    const spec = (agent.spec ?? {}) as AgentSpec;
    const p = (spec.placement ?? {}) as AgentPlacement & { spreadBy?: string };
    const strategy = (Strategies as readonly string[]).includes(p.strategy ?? '') ? (p.strategy as Strategy) : 'LeastLoaded';
    let selector: AgentRequest['selector'] = null;
    let selectorKey = '';
    const so = p.containerSelector;
    if (so && (Object.keys(so.matchLabels ?? {}).length > 0 || (so.matchExpressions ?? []).length > 0)) {
      selectorKey = JSON.stringify(so);
      try {
        selector = labelSelectorFromObject(so);
      } catch {
        selector = 'invalid'; // validated by the API; a broken one in store data matches nothing
      }
    }
    const ex = opts.exclude?.[agent.metadata.name];
    const deployment = deploymentKey(agent);
    const required = [...new Set(p.requiredCapabilities ?? [])];
    const spreadBy = p.spreadBy || 'node';
    return {
      obj: agent,
      name: agent.metadata.name,
      deployment,
      ...agentRequests(agent),
      strategy,
      spreadBy,
      required,
      preferred: [...new Set(p.preferredCapabilities ?? [])].filter((c) => !required.includes(c)),
      selector,
      selectorKey,
      maxPerContainer: typeof p.maxPerContainer === 'number' ? p.maxPerContainer : undefined,
      exclude: ex && ex.length ? new Set(ex) : undefined,
      selectorRow: this.selectorRow(selector, selectorKey),
      perContainer: this.deploymentRow(deployment),
      spread: strategy === 'Spread' ? this.spreadCounts(deployment, spreadBy) : undefined,
    };
  }
}

// Pure Agent → Container scheduler (Nomad style): feasibility filters that name every rejection,
// then the agent's strategy scores the feasible containers; ties go to a seeded hash of
// (seed, agent, container), so the same input always gives the same plan.
import type { KubeObject } from '../core/types.ts';
import {
  SchedulerState, type SchedulerView, type ScheduleOptions, type ContainerState, type AgentRequest,
} from './agent-scheduler-state.ts';
import { containerFilters, requestFilters, unschedulableMessage, type AgentFilter, type FilterContext } from './agent-filters.ts';
import { strategyScorers, type ScoreContext } from './agent-strategies.ts';

export { Strategies, type Strategy, type SchedulerView, type ScheduleOptions, isNodeFlapping } from './agent-scheduler-state.ts';

export interface Binding { agent: string; container: string; node: string; score: number }
export interface Unschedulable { agent: string; reasons: Record<string, number>; message: string }
export interface SchedulePlan { bindings: Binding[]; unschedulable: Unschedulable[]; cursors: Record<string, number> }

const EPSILON = 1e-12;

/** FNV-1a over a string, continuing from `h` (so a per-agent prefix is hashed once). */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
const FNV_OFFSET = 0x811c9dc5;

/** murmur3's finaliser: mixes the agent's and the container's hashes into one tie-break value. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
const tieHash = (agentHash: number, containerHash: number) => mix(agentHash ^ Math.imul(containerHash, 0x9e3779b1));

/** First rejection among the agent-independent filters, once per container per batch. */
function containerVerdicts(state: SchedulerState, probe: KubeObject): Array<{ reason: string; filter: number } | null> {
  const agent = state.request(probe);
  return state.containers.map((cs) => {
    const ctx = { state, container: cs, agent };
    for (let i = 0; i < containerFilters.length; i++) {
      const reason = containerFilters[i](cs.obj, probe, state.view, ctx);
      if (reason) return { reason, filter: i };
    }
    return null;
  });
}

function firstRejection(state: SchedulerState, cs: ContainerState, a: AgentRequest, filters: readonly AgentFilter[]): { reason: string; filter: number } | null {
  const ctx: FilterContext = { state, container: cs, agent: a };
  for (let i = 0; i < filters.length; i++) {
    const reason = filters[i](cs.obj, a.obj, state.view, ctx);
    if (reason) return { reason, filter: i };
  }
  return null;
}

/** Rejection counts in filter order (then first seen, for `lack capability X` variants). */
function countReasons(
  state: SchedulerState, a: AgentRequest, verdicts: Array<{ reason: string; filter: number } | null>,
): Record<string, number> {
  const counted: Array<{ reason: string; filter: number; count: number }> = [];
  for (const cs of state.containers) {
    const v = verdicts[cs.index];
    const r = v ?? (() => {
      const x = firstRejection(state, cs, a, requestFilters);
      return x && { reason: x.reason, filter: containerFilters.length + x.filter };
    })();
    if (!r) continue;
    const seen = counted.find((x) => x.reason === r.reason);
    if (seen) seen.count++;
    else counted.push({ ...r, count: 1 });
  }
  counted.sort((x, y) => x.filter - y.filter); // stable: equal filters keep first-seen order
  return Object.fromEntries(counted.map((x) => [x.reason, x.count]));
}

/** Place `pending` (in order) one by one, counting each binding against capacity before the next. Deterministic for the same input. */
export function scheduleAgents(pending: KubeObject[], view: SchedulerView, opts: ScheduleOptions = {}): SchedulePlan {
  const state = new SchedulerState(view, new Set(pending.map((a) => a.metadata.name)));
  const verdicts = containerVerdicts(state, pending[0] ?? { apiVersion: '', kind: 'Agent', metadata: { name: '' } });
  const open = state.containers.filter((cs) => verdicts[cs.index] === null);
  const cursors = { ...(opts.cursors ?? {}) };
  const seed = opts.seed ?? '';
  const hashes = Uint32Array.from(state.containers, (cs) => fnv(FNV_OFFSET, cs.name));
  const plan: SchedulePlan = { bindings: [], unschedulable: [], cursors };

  for (const agent of pending) {
    const a = state.request(agent, opts);
    const score = strategyScorers[a.strategy];
    const cursor = cursors[a.deployment] ?? -1;
    const prefix = fnv(fnv(FNV_OFFSET, seed + '\0'), a.name + '\0');
    let best: ContainerState | undefined;
    let bestScore = -1;
    let bestHash = 0;
    // One mutable context per agent: 10,000 × 1,000 pairs must not allocate per pair.
    const ctx: FilterContext & ScoreContext = { state, container: open[0], agent: a, cursor };
    outer: for (const cs of open) {
      ctx.container = cs;
      for (let i = 0; i < requestFilters.length; i++) if (requestFilters[i](cs.obj, agent, view, ctx) !== null) continue outer;
      const s = score(ctx);
      if (s < bestScore - EPSILON) continue;
      if (s <= bestScore + EPSILON) {
        const h = tieHash(prefix, hashes[cs.index]);
        if (h >= bestHash) continue; // containers come in name order, so an equal hash keeps the first name
        bestHash = h;
      } else {
        bestHash = tieHash(prefix, hashes[cs.index]);
      }
      best = cs;
      bestScore = s;
    }
    if (best) {
      state.bind(best, a);
      if (a.strategy === 'RoundRobin') cursors[a.deployment] = best.index;
      plan.bindings.push({ agent: a.name, container: best.name, node: best.nodeName, score: bestScore });
    } else {
      const reasons = countReasons(state, a, verdicts);
      plan.unschedulable.push({ agent: a.name, reasons, message: unschedulableMessage(state.containers.length, reasons) });
    }
  }
  return plan;
}

/** Containers `agent` may go to now, and how many containers each reason ruled out. */
export function feasibleContainers(agent: KubeObject, view: SchedulerView): { feasible: KubeObject[]; reasons: Record<string, number> } {
  const state = new SchedulerState(view, new Set([agent.metadata.name]));
  const verdicts = containerVerdicts(state, agent);
  const a = state.request(agent);
  const feasible = state.containers
    .filter((cs) => verdicts[cs.index] === null && !firstRejection(state, cs, a, requestFilters))
    .map((cs) => cs.obj);
  return { feasible, reasons: countReasons(state, a, verdicts) };
}

/**
 * Allocation of one container from the view: bound agents and their cpu (millicores) / memory
 * (bytes) requests; ratio = the dominant share among agent slots and the capacities it states.
 */
export function containerLoad(container: KubeObject, view: SchedulerView): { agents: number; capacityAgents: number; cpu: number; memory: number; ratio: number } {
  const state = new SchedulerState({ ...view, containers: [container] });
  const cs = state.containers[0];
  const share = (used: number, cap: number | undefined) => (cap === undefined ? 0 : cap <= 0 ? (used > 0 ? 1 : 0) : used / cap);
  const ratio = Math.max(share(cs.agents, cs.capAgents), share(cs.cpu, cs.capCpu), share(cs.memory, cs.capMemory));
  return { agents: cs.agents, capacityAgents: cs.capAgents, cpu: cs.cpu, memory: cs.memory, ratio };
}

// Placement strategies as scorers in [0,1] (higher wins) over a feasible container. Where a
// strategy has tiers (CapabilityMatch, Spread), the tiers are folded into one number exactly:
// an integer primary key plus a fraction below 1 for the next tier, mapped monotonically into [0,1].
import type { Strategy, ContainerState, AgentRequest, SchedulerState } from './agent-scheduler-state.ts';

export interface ScoreContext {
  state: SchedulerState;
  container: ContainerState;
  agent: AgentRequest;
  /** RoundRobin: index of the last container this deployment got (-1 = none yet). */
  cursor: number;
}

export type AgentScorer = (ctx: ScoreContext) => number;

/** Fraction of a dimension in use after adding `want`; unlimited dimensions count as empty. */
const usedAfter = (used: number, want: number, cap: number | undefined): number =>
  cap === undefined ? 0 : cap <= 0 ? 1 : Math.min(1, (used + want) / cap);

/** Fraction used after placement, cpu/memory/agents weighted 1/1/2. */
export function weightedUse(c: ContainerState, a: AgentRequest): number {
  return (usedAfter(c.cpu, a.cpu, c.capCpu) + usedAfter(c.memory, a.memory, c.capMemory) + 2 * usedAfter(c.agents, 1, c.capAgents)) / 4;
}

/** The next feasible container after the deployment's cursor in name order scores highest. */
export const roundRobin: AgentScorer = ({ state, container, cursor }) => {
  const n = state.containers.length;
  const distance = (((container.index - cursor - 1) % n) + n) % n;
  return 1 - distance / n;
};

/** Emptiest after placement wins. */
export const leastLoaded: AgentScorer = ({ container, agent }) => 1 - weightedUse(container, agent);

/** Best fit: the least left over after placement (averaged over agent slots, cpu and memory) wins. */
export const resourceOptimal: AgentScorer = ({ container: c, agent: a }) =>
  (usedAfter(c.cpu, a.cpu, c.capCpu) + usedAfter(c.memory, a.memory, c.capMemory) + usedAfter(c.agents, 1, c.capAgents)) / 3;

/**
 * Tiers: most preferred capabilities present; then fewest capabilities nobody asked for (scarce
 * hardware stays free); then least loaded.
 */
export const capabilityMatch: AgentScorer = ({ container: c, agent: a }) => {
  // required ⊆ capabilities (filtered), and `preferred` holds no required capability (see request())
  let matched = 0;
  for (let i = 0; i < a.preferred.length; i++) if (c.capabilities.has(a.preferred[i])) matched++;
  const unneeded = c.capabilities.size - a.required.length - matched;
  const rest = unneeded + Math.min(0.999, weightedUse(c, a));
  const key = a.preferred.length - matched + rest / (rest + 1); // lower is better, in [0, P+1)
  return 1 - key / (a.preferred.length + 1);
};

/** Fewest agents of this deployment in the container's topology domain; then in the container itself. */
export const spread: AgentScorer = ({ state, container: c, agent: a }) => {
  const s = a.spread ?? state.spreadCounts(a.deployment, a.spreadBy);
  const inDomain = s.counts[s.ids[c.index]];
  const inContainer = a.perContainer[c.index];
  return 1 / (1 + inDomain + inContainer / (inDomain + 1));
};

export const strategyScorers: Record<Strategy, AgentScorer> = {
  RoundRobin: roundRobin,
  LeastLoaded: leastLoaded,
  CapabilityMatch: capabilityMatch,
  ResourceOptimal: resourceOptimal,
  Spread: spread,
};

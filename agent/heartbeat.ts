// Heartbeat bookkeeping and the Node /status bodies. Fencing is measured on the agent's own
// monotonic clock from the SEND time of the last heartbeat the manager accepted.
import { arch, hostname, platform, release } from 'node:os';
import type { Condition } from '../core/types.ts';
import type { RuntimeInfo } from './runtime.ts';

export const NodeReasons = {
  AgentReady: 'AgentReady',
  AgentStopped: 'AgentStopped',
} as const;

export class FencingTracker {
  #lastSuccessAt: number;
  #fenced = false;
  #everSucceeded = false;

  /** `startedAt` counts as a success: a node that never reached the manager fences too. */
  constructor(startedAt: number) {
    this.#lastSuccessAt = startedAt;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  get everSucceeded(): boolean {
    return this.#everSucceeded;
  }

  silenceMs(now: number): number {
    return now - this.#lastSuccessAt;
  }

  /** A heartbeat sent at `sentAt` succeeded; returns true when that ends a fenced episode. */
  recordSuccess(sentAt: number): boolean {
    this.#lastSuccessAt = Math.max(this.#lastSuccessAt, sentAt);
    this.#everSucceeded = true;
    const wasFenced = this.#fenced;
    this.#fenced = false;
    return wasFenced;
  }

  /** True exactly once per silent episode: when the silence first reaches the grace period. */
  shouldFence(now: number, graceMs: number): boolean {
    if (this.#fenced || now - this.#lastSuccessAt < graceMs) return false;
    this.#fenced = true;
    return true;
  }
}

/** RFC 3339 with milliseconds, as lastHeartbeatTime is spelled. */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

export function readyCondition(status: 'True' | 'False', reason: string, message: string, prev: Condition | undefined, nowIso: string): Condition {
  const since = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : nowIso;
  return { type: 'Ready', status, reason, message, lastTransitionTime: since };
}

export interface NodeFacts {
  capacity: { cpu: string; memory: string };
  usage: { cpu: string; memory: string };
  containers: number;
  agents: number;
  capacityContainers: number;
  capacityAgents: number;
  runtime: RuntimeInfo;
  agentVersion: string;
  address: string;
}

/** The full status the agent writes when it registers (or re-registers). */
export function registrationStatus(f: NodeFacts, prevReady: Condition | undefined, nowMs: number): Record<string, unknown> {
  const nowIso = isoMs(nowMs);
  const cap = { cpu: f.capacity.cpu, memory: f.capacity.memory, containers: f.capacityContainers, agents: f.capacityAgents };
  return {
    capacity: cap,
    allocatable: { ...cap },
    usage: { cpu: f.usage.cpu, memory: f.usage.memory, containers: f.containers, agents: f.agents },
    runtime: { type: f.runtime.type, version: f.runtime.version },
    nodeInfo: { hostname: hostname(), os: platform(), arch: arch(), kernelVersion: release(), agentVersion: f.agentVersion },
    addresses: [{ type: 'InternalIP', address: f.address }, { type: 'Hostname', address: hostname() }],
    lastHeartbeatTime: nowIso,
    conditions: [readyCondition('True', NodeReasons.AgentReady, 'drover agent is posting heartbeats', prevReady, nowIso)],
  };
}

/** The cheap periodic merge patch: heartbeat time, usage and Ready=True. */
export function heartbeatPatch(f: Pick<NodeFacts, 'usage' | 'containers' | 'agents'>, prevReady: Condition | undefined, nowMs: number): Record<string, unknown> {
  const nowIso = isoMs(nowMs);
  return {
    status: {
      lastHeartbeatTime: nowIso,
      usage: { cpu: f.usage.cpu, memory: f.usage.memory, containers: f.containers, agents: f.agents },
      conditions: [readyCondition('True', NodeReasons.AgentReady, 'drover agent is posting heartbeats', prevReady, nowIso)],
    },
  };
}

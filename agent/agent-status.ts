// Runtime view of an agent → Agent.status merge patch. Pure. Never carries nodeName or containerName
// (the scheduler owns the binding); absent optional fields are null so a merge patch clears them.
import type { KubeObject } from '../core/types.ts';
import { AgentReasons } from './agent-plan.ts';
import type { AgentInfo, ContainerState } from './runtime.ts';

export const AgentPhases = ['Pending', 'Scheduled', 'Starting', 'Running', 'Migrating', 'Failed', 'Succeeded'] as const;
export type AgentPhase = (typeof AgentPhases)[number];

export function agentPhase(state: ContainerState, exitCode: number | null | undefined): AgentPhase {
  switch (state) {
    case 'running': return 'Running';
    case 'created':
    case 'starting':
    case 'restarting': return 'Starting';
    case 'stopping':
    case 'failed': return 'Failed';
    // exited without a restart coming: a clean exit is done, anything else failed
    case 'exited': return exitCode === 0 ? 'Succeeded' : 'Failed';
  }
}

function lastExitOf(info: AgentInfo): Record<string, unknown> | null {
  if (!info.lastExit) return null;
  const e = info.lastExit;
  return Object.fromEntries(Object.entries({
    exitCode: e.exitCode ?? undefined, signal: e.signal ?? undefined, reason: e.reason, finishedAt: e.finishedAt,
  }).filter(([, v]) => v !== undefined));
}

export function agentStatusPatch(info: AgentInfo, agent: KubeObject): Record<string, unknown> {
  const phase = agentPhase(info.state, info.lastExit?.exitCode);
  let message = info.message ?? null;
  if (!message && info.state === 'restarting') message = `restarting agent ${info.name} after it exited`;
  return {
    phase,
    pid: info.state === 'running' && info.pid !== undefined ? info.pid : null,
    execID: info.id || null,
    restarts: info.restarts,
    startedAt: info.startedAt ?? null,
    lastExit: lastExitOf(info),
    reason: phase === 'Failed' ? (info.lastExit?.reason ?? 'Failed') : null,
    message,
    observedGeneration: agent.metadata.generation ?? null,
  };
}

/** The agent cannot run because its container is stopped, failed or gone; the manager migrates it. */
export function containerNotRunningPatch(agent: KubeObject, container: string, containerState: string, nodeName: string): Record<string, unknown> {
  const how = containerState === 'absent' ? 'is not on' : `is ${containerState} on`;
  return {
    phase: 'Failed',
    pid: null,
    reason: AgentReasons.ContainerNotRunning,
    message: `container ${container} ${how} node ${nodeName}`,
    observedGeneration: agent.metadata.generation ?? null,
  };
}

/** JSON with sorted object keys, so a stored object compares equal whatever order its keys came back in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** A report changes nothing when every field it carries already has that value. */
export function statusChanged(agent: KubeObject, patch: Record<string, unknown>): boolean {
  const s = (agent.status ?? {}) as Record<string, unknown>;
  return Object.entries(patch).some(([k, v]) => canonical(s[k]) !== canonical(v));
}

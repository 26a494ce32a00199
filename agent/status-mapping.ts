// Runtime view → Container.status: phase mapping and the Started/Healthy conditions. Pure (time passed in).
import type { Condition } from '../core/types.ts';
import type { ContainerPhase } from '../core/kinds.generated.ts';
import type { ContainerInfo, ContainerState } from './runtime.ts';

const PHASE_OF_STATE: Record<ContainerState, ContainerPhase> = {
  created: 'Starting',
  starting: 'Starting',
  running: 'Running',
  restarting: 'Restarting',
  stopping: 'Stopping',
  exited: 'Stopped',
  failed: 'Failed',
};

export function phaseFor(info: Pick<ContainerInfo, 'state' | 'lastExit'>, restartPolicy?: string): ContainerPhase {
  // A container that will never be restarted and exited badly has failed, not merely stopped.
  if (info.state === 'exited' && restartPolicy === 'Never' && (info.lastExit?.exitCode ?? 0) !== 0) return 'Failed';
  return PHASE_OF_STATE[info.state];
}

function condition(prev: Condition[] | undefined, type: string, status: Condition['status'], reason: string, message: string, nowIso: string): Condition {
  const old = prev?.find((c) => c.type === type);
  const since = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : nowIso;
  return { type, status, reason, message, lastTransitionTime: since };
}

export const CONDITION_STARTED = 'Started';
export const CONDITION_HEALTHY = 'Healthy';

/** Started/Healthy as a dependant's dependsOn reads them; other writers' conditions are kept. */
export function containerConditions(info: ContainerInfo, prev: Condition[] | undefined, nowIso: string): Condition[] {
  const running = info.state === 'running';
  const started = running
    ? condition(prev, CONDITION_STARTED, 'True', 'ContainerRunning', `running as ${info.containerID}`, nowIso)
    : condition(prev, CONDITION_STARTED, 'False', `Container${info.state[0].toUpperCase()}${info.state.slice(1)}`, info.message ?? `container is ${info.state}`, nowIso);
  // No health check: a running container counts as healthy (what dependsOn: Healthy waits for).
  const healthy = running && (info.health === 'Healthy' || info.health === 'None');
  const healthMsg = info.health === 'None' ? (running ? 'running, no health check' : `container is ${info.state}`) : `health check: ${info.health}`;
  const health = condition(prev, CONDITION_HEALTHY, healthy ? 'True' : 'False', healthy ? 'HealthCheckPassed' : info.health === 'Unhealthy' ? 'HealthCheckFailed' : 'NotHealthy', healthMsg, nowIso);
  const others = (prev ?? []).filter((c) => c.type !== CONDITION_STARTED && c.type !== CONDITION_HEALTHY);
  return [...others, started, health];
}

/**
 * The merge patch for `/status`. Never carries nodeName (the manager owns the binding); absent
 * optional fields are sent as null so a merge patch clears stale values.
 */
export function containerStatusPatch(
  info: ContainerInfo, restartPolicy: string | undefined, prevConditions: Condition[] | undefined, nowIso: string,
): Record<string, unknown> {
  const lastExit = info.lastExit
    ? Object.fromEntries(Object.entries({
        exitCode: info.lastExit.exitCode ?? undefined, signal: info.lastExit.signal ?? undefined,
        reason: info.lastExit.reason, finishedAt: info.lastExit.finishedAt,
      }).filter(([, v]) => v !== undefined))
    : null;
  const phase = phaseFor(info, restartPolicy);
  return {
    phase,
    containerID: info.containerID,
    health: info.health,
    restarts: info.restarts,
    startedAt: info.startedAt ?? null,
    lastExit,
    usage: info.usage ?? null,
    observedGeneration: info.generation,
    reason: phase === 'Failed' ? (info.reason ?? info.lastExit?.reason ?? 'Failed') : null,
    ...(info.imageID ? { imageID: info.imageID } : {}),
    message: info.message ?? null,
    conditions: containerConditions(info, prevConditions, nowIso),
  };
}

/** What to compare to decide whether a report changed (timestamps and usage excluded: they always move). */
export function reportDigest(patch: Record<string, unknown>): string {
  const { usage: _u, conditions, ...rest } = patch;
  const conds = (conditions as Condition[] | undefined)?.map((c) => [c.type, c.status, c.reason]);
  return JSON.stringify([rest, conds]);
}

/** A stopped-by-the-agent report (graceful shutdown), when the runtime no longer answers. */
export function stoppedStatusPatch(prevConditions: Condition[] | undefined, message: string, nowIso: string): Record<string, unknown> {
  const others = (prevConditions ?? []).filter((c) => c.type !== CONDITION_STARTED && c.type !== CONDITION_HEALTHY);
  return {
    phase: 'Stopped',
    message,
    conditions: [
      ...others,
      condition(prevConditions, CONDITION_STARTED, 'False', 'AgentStopped', message, nowIso),
      condition(prevConditions, CONDITION_HEALTHY, 'False', 'AgentStopped', message, nowIso),
    ],
  };
}

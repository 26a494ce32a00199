// Flap damping input: the Node annotation drover.dev/ready-transitions (JSON list of RFC 3339 times
// at which Ready flipped, the last 10), written by the node lifecycle reconcile, read by the scheduler
// (isNodeFlapping in reconcilers/agent-scheduler-state.ts).
import type { KubeObject } from '../core/types.ts';

export const READY_TRANSITIONS_ANNOTATION = 'drover.dev/ready-transitions';

/** Enough history for the flap window (more than 3 flips in 5 minutes). */
export const KEEP_TRANSITIONS = 10;

/** Ready transition times of a node, parsed from its annotation (bad entries are skipped). */
export function readyTransitions(node: KubeObject): number[] {
  const raw = node.metadata.annotations?.[READY_TRANSITIONS_ANNOTATION];
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as unknown;
    return Array.isArray(list) ? list.map((t) => (typeof t === 'string' ? Date.parse(t) : NaN)).filter(Number.isFinite) : [];
  } catch {
    return []; // hand-edited annotation: start the history afresh rather than fail the node write
  }
}

/** The annotation value after one more transition at `now` (keeps the last 10). */
export function appendReadyTransition(node: KubeObject, now: number): string {
  const times = [...readyTransitions(node), now].slice(-KEEP_TRANSITIONS);
  return JSON.stringify(times.map((t) => new Date(t).toISOString()));
}

// Task facts shared by the dispatcher (reconcilers/), the seed task API (api/) and node agents:
// reasons, the cancel annotation, the lease length and the one "is this task over" rule.
import type { Task, TaskState } from './kinds.generated.ts';
import { parseDuration } from './duration.ts';

/** Set by `drover tasks cancel` / the seed API; a Running task is cancelled once its agent finishes. Agents check it before starting. */
export const CANCEL_REQUESTED_ANNOTATION = 'drover.dev/cancel-requested';

/** How long a claim lasts; the agent renews it every 10 s while the task runs. */
export const TASK_LEASE_MS = 30_000;
export const TASK_LEASE_RENEW_MS = 10_000;
export const DEFAULT_TASK_TIMEOUT = '5m';
export const DEFAULT_TASK_PRIORITY = 5;
export const DEFAULT_TASK_MAX_RETRIES = 3;

/** `status.reason` values the manager writes on Tasks. */
export const TaskReasons = {
  Duplicate: 'Duplicate',
  LeaseExpired: 'LeaseExpired',
  Timeout: 'Timeout',
  DependencyFailed: 'DependencyFailed',
  Cancelled: 'Cancelled',
} as const;

// Failures the dispatcher itself decided; retrying them could run the work twice or loop forever.
const TERMINAL_REASONS: ReadonlySet<string> = new Set([TaskReasons.LeaseExpired, TaskReasons.Timeout, TaskReasons.DependencyFailed]);

export function taskState(t: Task): TaskState {
  return t.status?.state ?? 'Pending';
}

export function maxRetriesOf(t: Task): number {
  return t.spec.maxRetries ?? DEFAULT_TASK_MAX_RETRIES;
}

export function priorityOf(t: Task): number {
  return t.spec.priority ?? DEFAULT_TASK_PRIORITY;
}

/** Milliseconds a Running task may take; a malformed value (the API validates it) falls back to the default. */
export function timeoutMsOf(t: Task): number {
  try {
    return parseDuration(t.spec.timeout ?? DEFAULT_TASK_TIMEOUT);
  } catch (err) {
    if (err instanceof RangeError) return parseDuration(DEFAULT_TASK_TIMEOUT);
    throw err;
  }
}

/** A Failed task that will be retried (retries left, failure not decided by the manager). */
export function isRetryableFailure(t: Task): boolean {
  if (taskState(t) !== 'Failed') return false;
  if (TERMINAL_REASONS.has(t.status?.reason ?? '')) return false;
  return (t.status?.attempts ?? 0) < maxRetriesOf(t);
}

/** Completed, Cancelled, or Failed for good: nothing will happen to it any more. */
export function isTaskFinished(t: Task): boolean {
  const s = taskState(t);
  return s === 'Completed' || s === 'Cancelled' || (s === 'Failed' && !isRetryableFailure(t));
}

export function isCancelRequested(t: Task): boolean {
  return Boolean(t.metadata.annotations?.[CANCEL_REQUESTED_ANNOTATION]);
}

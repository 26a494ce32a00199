// Restart decisions for a supervised process: the policy, and Kubernetes-style crash-loop back-off.
import { formatDuration } from '../../core/duration.ts';

export const RestartPolicies = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof RestartPolicies)[number];

export interface BackoffPolicy {
  /** First delay (1 s). */
  initialMs: number;
  /** Cap (5 min). */
  maxMs: number;
  /** A run at least this long forgets earlier crashes (10 min). */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 5 * 60_000, resetAfterMs: 10 * 60_000 };

/** Whether an exit is restarted. A kill for failing its health check counts as a failure. */
export function shouldRestart(policy: RestartPolicy, exit: { exitCode: number | null; failed: boolean }): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exit.failed || exit.exitCode !== 0;
  return false;
}

/** Delay before restart number `crashes + 1` (1s, 2s, 4s … capped). */
export function backoffDelay(crashes: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.initialMs * 2 ** Math.max(0, crashes), policy.maxMs);
}

export function crashLoopMessage(delayMs: number, what = 'container'): string {
  return `CrashLoopBackOff: back-off ${formatDuration(delayMs)} restarting failed ${what}`;
}

export function parseRestartPolicy(v: unknown): RestartPolicy {
  return (RestartPolicies as readonly unknown[]).includes(v) ? (v as RestartPolicy) : 'Always';
}

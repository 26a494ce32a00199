// What the seed task API may do to a Task: an agent's status report (claim, renew, complete, fail),
// a retry and a cancel. Pure: the handler fetches the task, these decide, the handler writes.
import { BadRequest, Conflict } from '../core/errors.ts';
import { isPlainObject } from '../core/patch.ts';
import type { Task, TaskState, TaskStatus } from '../core/kinds.generated.ts';
import { TaskStateValues } from '../core/kinds.generated.ts';
import { CANCEL_REQUESTED_ANNOTATION, TASK_LEASE_MS, TaskReasons, isCancelRequested, isTaskFinished, maxRetriesOf, priorityOf, taskState } from '../core/task-meta.ts';

export interface StatusWrite {
  state: 'Running' | 'Completed' | 'Failed';
  message?: string;
  reason?: string;
  result?: Record<string, unknown>;
}

/** A task as the seed API shows it. */
export interface SeedTask {
  id: string;
  namespace: string;
  type: string;
  target: Task['spec']['target'];
  node: string | null;
  state: TaskState;
  priority: number;
  attempts: number;
  maxRetries: number;
  waitReason: string | null;
  message: string | null;
  reason: string | null;
  dependsOn: string[];
  leaseHolder: string | null;
  createdAt: string | null;
  assignedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  result?: Record<string, unknown>;
}

export function toSeedTask(t: Task): SeedTask {
  const s = t.status ?? {};
  return {
    id: t.metadata.name, namespace: t.metadata.namespace ?? '', type: t.spec.type, target: t.spec.target,
    node: t.spec.nodeName ?? null, state: taskState(t), priority: priorityOf(t), attempts: s.attempts ?? 0, maxRetries: maxRetriesOf(t),
    waitReason: s.waitReason ?? null, message: s.message ?? null, reason: s.reason ?? null, dependsOn: t.spec.dependsOn ?? [],
    leaseHolder: s.leaseHolder ?? null, createdAt: t.metadata.creationTimestamp ?? null, assignedAt: s.assignedAt ?? null,
    startedAt: s.startedAt ?? null, completedAt: s.completedAt ?? null, ...(s.result ? { result: s.result } : {}),
  };
}

const WRITABLE = ['Running', 'Completed', 'Failed'] as const;

export function parseStatusWrite(body: unknown): StatusWrite {
  if (!isPlainObject(body)) throw new BadRequest('request body must be a JSON object {state, message?, reason?, result?}');
  const { state, message, reason, result } = body;
  if (!(WRITABLE as readonly unknown[]).includes(state)) {
    const hint = (TaskStateValues as readonly unknown[]).includes(state) ? ' (use POST /api/v1/tasks/:id/retry or /cancel for the others)' : '';
    throw new BadRequest(`state must be one of ${WRITABLE.join(', ')}, got ${JSON.stringify(state)}${hint}`);
  }
  for (const [k, v] of Object.entries({ message, reason })) {
    if (v !== undefined && typeof v !== 'string') throw new BadRequest(`${k} must be a string`);
  }
  if (result !== undefined && !isPlainObject(result)) throw new BadRequest('result must be a JSON object');
  return { state: state as StatusWrite['state'], message: message as string | undefined, reason: reason as string | undefined, result: result as Record<string, unknown> | undefined };
}

const iso = (ms: number) => new Date(ms).toISOString();

function refuse(t: Task, why: string): never {
  throw new Conflict(`task "${t.metadata.name}" ${why}`, { name: t.metadata.name, group: 'drover.dev', kind: 'tasks' });
}

/** The status after an agent's report; `holder` is the reporting node. Conflict when the transition is not allowed. */
export function applyStatusWrite(t: Task, w: StatusWrite, holder: string, now: number): TaskStatus {
  const cur = t.status ?? {};
  const state = taskState(t);
  const heldByOther = state === 'Running' && cur.leaseHolder !== undefined && cur.leaseHolder !== holder;
  if (heldByOther) refuse(t, `is held by ${cur.leaseHolder}, not ${holder}`);
  const keep: TaskStatus = {
    ...(cur.attempts !== undefined ? { attempts: cur.attempts } : {}),
    ...(cur.observedGeneration !== undefined ? { observedGeneration: cur.observedGeneration } : {}),
    ...(cur.conditions ? { conditions: cur.conditions } : {}),
  };
  switch (w.state) {
    case 'Running':
      if (state === 'Assigned') {
        if (isCancelRequested(t)) refuse(t, 'was cancelled; do not start it');
        return {
          ...keep, state: 'Running', attempts: (cur.attempts ?? 0) + 1, assignedAt: cur.assignedAt, startedAt: iso(now),
          leaseHolder: holder, leaseExpiresAt: iso(now + TASK_LEASE_MS), message: w.message ?? `running on ${holder}`,
        };
      }
      if (state === 'Running') return { ...cur, leaseHolder: holder, leaseExpiresAt: iso(now + TASK_LEASE_MS), ...(w.message ? { message: w.message } : {}) };
      return refuse(t, `is ${state}; only an Assigned task can be started`);
    case 'Completed':
      if (state !== 'Running') refuse(t, `is ${state}; only a Running task can complete`);
      return { ...keep, state: 'Completed', startedAt: cur.startedAt, completedAt: iso(now), leaseHolder: holder, message: w.message ?? 'completed', ...(w.result ? { result: w.result } : {}) };
    case 'Failed':
      if (state !== 'Running' && state !== 'Assigned') refuse(t, `is ${state}; only an Assigned or Running task can fail`);
      return {
        ...keep, state: 'Failed', startedAt: cur.startedAt, completedAt: iso(now), leaseHolder: holder,
        reason: w.reason ?? 'Error', message: w.message ?? 'failed', ...(w.result ? { result: w.result } : {}),
      };
  }
}

/** A Failed or Cancelled task back to Pending; grants one more attempt when its retries are used up. */
export function retryTask(t: Task, who: string): Task {
  const state = taskState(t);
  if (state !== 'Failed' && state !== 'Cancelled') refuse(t, `is ${state}; only Failed or Cancelled tasks can be retried`);
  const next = structuredClone(t);
  const attempts = t.status?.attempts ?? 0;
  if (attempts >= maxRetriesOf(t)) next.spec.maxRetries = attempts + 1;
  if (next.metadata.annotations) {
    delete next.metadata.annotations[CANCEL_REQUESTED_ANNOTATION];
    if (Object.keys(next.metadata.annotations).length === 0) delete next.metadata.annotations;
  }
  next.status = {
    ...(attempts ? { attempts } : {}),
    ...(t.status?.observedGeneration !== undefined ? { observedGeneration: t.status.observedGeneration } : {}),
    state: 'Pending', message: `retry requested by ${who}`,
  };
  return next;
}

/** Cancel: at once when not yet Running; a Running task is only marked and is cancelled once its agent finishes. */
export function cancelTask(t: Task, who: string, now: number): { task: Task; immediate: boolean } {
  if (isTaskFinished(t)) refuse(t, `is already ${taskState(t)}`);
  const next = structuredClone(t);
  next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [CANCEL_REQUESTED_ANNOTATION]: iso(now) };
  if (taskState(t) === 'Running') return { task: next, immediate: false };
  next.status = {
    ...(t.status?.attempts !== undefined ? { attempts: t.status.attempts } : {}),
    state: 'Cancelled', reason: TaskReasons.Cancelled, message: `cancelled by ${who}`, completedAt: iso(now),
  };
  return { task: next, immediate: true };
}

// Pure task dispatcher: from a snapshot of Tasks, Containers and Nodes and the time `now`, decide
// which Tasks are released to their node (Assigned), which wait (Queued + why), which retry, time
// out, lose their lease or are duplicates. Returns only the status changes; applying them twice is safe.
import type { Container, Node, Task, TaskStatus, TaskType, TaskWaitReason } from '../core/kinds.generated.ts';
import type { Condition } from '../core/types.ts';
import {
  TaskReasons, isCancelRequested, isRetryableFailure, isTaskFinished, maxRetriesOf, priorityOf, taskState, timeoutMsOf,
} from '../core/task-meta.ts';
import { conflictLevel, ConflictPolicy } from './conflict-matrix.ts';
import type { EventSpec } from './types.ts';

export interface DispatchSnapshot {
  tasks: Task[];
  containers: Container[];
  nodes: Node[];
}

export interface DispatchOptions {
  /** Assigned + Running tasks per node; default 4. */
  perNodeLimit?: number;
  /** Assigned + Running tasks per target (Container or Agent); default 1. */
  perContainerLimit?: number;
}

/** `status` is the task's complete new status (fields it lacks are cleared). */
export interface TaskStatusUpdate {
  name: string;
  namespace: string;
  status: TaskStatus;
}

export interface DispatchPlan {
  statusUpdates: TaskStatusUpdate[];
  /** involvedObject names the Task. */
  events: EventSpec[];
  /** Milliseconds until the next lease expiry, retry or timeout. */
  requeueAfter?: number;
}

export const DEFAULT_PER_NODE_LIMIT = 4;
export const DEFAULT_PER_CONTAINER_LIMIT = 1;
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60_000;

export const TaskEventReasons = {
  LeaseExpired: 'TaskLeaseExpired',
  TimedOut: 'TaskTimedOut',
  Retrying: 'TaskRetrying',
  DependencyFailed: 'TaskDependencyFailed',
  Deduplicated: 'TaskDeduplicated',
  ConcurrentOperation: 'ConcurrentOperation',
} as const;

// Operations that need the target's dependencies up; stopping or deleting a dependant never waits on them.
const NEEDS_DEPENDENCIES: ReadonlySet<TaskType> = new Set(['deploy', 'start', 'restart', 'update']);
// Operations on a dependency that take it away for a while.
const DISRUPTIVE: ReadonlySet<TaskType> = new Set(['deploy', 'restart', 'stop', 'delete']);
const TRANSIENT_PHASES: ReadonlySet<string> = new Set(['Starting', 'Restarting', 'Stopping']);

/** Delay before retry number `attempts` (1 s, 2 s, 4 s … capped at 60 s). */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

interface Work {
  task: Task;
  next: TaskStatus;
}

type Decision =
  | { kind: 'assign'; warnings: Work[] }
  | { kind: 'wait'; reason: TaskWaitReason; message: string }
  | { kind: 'fail'; message: string };

const iso = (ms: number) => new Date(ms).toISOString();
const ns = (t: Task) => t.metadata.namespace ?? '';
const nameKey = (namespace: string, name: string) => `${namespace}/${name}`;
const targetKey = (t: Task) => `${ns(t)}/${t.spec.target.kind}/${t.spec.target.name}`;
const stateOf = (w: Work) => w.next.state ?? 'Pending';
const isHolding = (w: Work) => stateOf(w) === 'Assigned' || stateOf(w) === 'Running';

function timeOf(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Priority desc, then creationTimestamp asc, then name. */
export function compareTasks(a: Task, b: Task): number {
  return priorityOf(b) - priorityOf(a)
    || (timeOf(a.metadata.creationTimestamp) ?? 0) - (timeOf(b.metadata.creationTimestamp) ?? 0)
    || a.metadata.name.localeCompare(b.metadata.name);
}

function isNodeReady(node: Node): boolean {
  return ((node.status?.conditions ?? []) as Condition[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Two tasks with this identity do the same work. */
function identity(t: Task): string {
  const s = t.spec;
  return stable([ns(t), s.type, s.target.kind, s.target.name, s.target.uid ?? '', s.target.generation ?? '', s.nodeName ?? '', s.payload ?? {}, s.dependsOn ?? []]);
}

function eventFor(t: Task, type: EventSpec['type'], reason: string, message: string): EventSpec {
  return {
    type, reason, message,
    involvedObject: { apiVersion: t.apiVersion, kind: 'Task', namespace: t.metadata.namespace, name: t.metadata.name, uid: t.metadata.uid },
  };
}

/** Drop run-specific fields, keeping attempts, observedGeneration and conditions. */
function base(s: TaskStatus): TaskStatus {
  const { attempts, observedGeneration, conditions } = s;
  const out: TaskStatus = {};
  if (attempts !== undefined) out.attempts = attempts;
  if (observedGeneration !== undefined) out.observedGeneration = observedGeneration;
  if (conditions !== undefined) out.conditions = conditions;
  return out;
}

export function dispatch(snapshot: DispatchSnapshot, now: number, opts: DispatchOptions = {}): DispatchPlan {
  const perNode = opts.perNodeLimit ?? DEFAULT_PER_NODE_LIMIT;
  const perTarget = opts.perContainerLimit ?? DEFAULT_PER_CONTAINER_LIMIT;
  const events: EventSpec[] = [];
  // Finished tasks never change again: only their names matter (task-to-task dependsOn), so the
  // work list holds just the live ones — namespaces accumulate thousands of finished tasks.
  const live = snapshot.tasks.filter((t) => !t.metadata.deletionTimestamp);
  const finished: Work[] = [];
  const work: Work[] = [];
  for (const task of live) {
    if (isTaskFinished(task)) finished.push({ task, next: task.status ?? {} });
    else work.push({ task, next: structuredClone(task.status ?? {}) });
  }
  work.sort((a, b) => compareTasks(a.task, b.task));

  const finish = (w: Work, state: 'Cancelled' | 'Failed', reason: string, message: string) => {
    w.next = { ...base(w.next), state, reason, message, completedAt: iso(now) };
  };

  // 1. Time and cancellation: leases, timeouts, failures to retry.
  for (const w of work) {
    const t = w.task;
    const state = stateOf(w);
    const attempts = w.next.attempts ?? 0;
    const max = maxRetriesOf(t);
    if ((state === 'Pending' || state === 'Queued' || state === 'Assigned') && isCancelRequested(t)) {
      finish(w, 'Cancelled', TaskReasons.Cancelled, 'cancelled before it ran');
      continue;
    }
    if (state === 'Running') {
      const leaseEnd = timeOf(w.next.leaseExpiresAt);
      const started = timeOf(w.next.startedAt);
      if (leaseEnd !== undefined && now >= leaseEnd) {
        const holder = w.next.leaseHolder ?? t.spec.nodeName ?? 'its node';
        if (attempts >= max) {
          finish(w, 'Failed', TaskReasons.LeaseExpired, `lease of ${holder} expired; no retries left (attempt ${attempts} of ${max})`);
          events.push(eventFor(t, 'Warning', TaskEventReasons.LeaseExpired, w.next.message!));
        } else if (isCancelRequested(t)) {
          finish(w, 'Cancelled', TaskReasons.Cancelled, `cancelled after the lease of ${holder} expired`);
        } else {
          w.next = { ...base(w.next), state: 'Pending', reason: TaskReasons.LeaseExpired, message: `lease of ${holder} expired; requeued (attempt ${attempts} of ${max} used)` };
          events.push(eventFor(t, 'Warning', TaskEventReasons.LeaseExpired, w.next.message!));
        }
      } else if (started !== undefined && now >= started + timeoutMsOf(t)) {
        finish(w, 'Failed', TaskReasons.Timeout, `timed out after ${t.spec.timeout ?? '5m'} on ${w.next.leaseHolder ?? t.spec.nodeName ?? 'its node'}`);
        events.push(eventFor(t, 'Warning', TaskEventReasons.TimedOut, w.next.message!));
      }
      continue;
    }
    if (state === 'Failed' && isRetryableFailure({ ...t, status: w.next })) {
      if (isCancelRequested(t)) {
        finish(w, 'Cancelled', TaskReasons.Cancelled, `cancelled after it failed: ${w.next.message ?? w.next.reason ?? 'no message'}`);
        continue;
      }
      const delay = backoffMs(attempts);
      const why = w.next.message ? `: ${w.next.message}` : '';
      w.next = {
        ...base(w.next), state: 'Queued', waitReason: 'Backoff', nextAttemptAt: iso(now + delay),
        ...(w.next.reason ? { reason: w.next.reason } : {}),
        message: `retrying in ${Math.round(delay / 1000)}s (attempt ${attempts + 1} of ${max})${why}`,
      };
      events.push(eventFor(t, 'Normal', TaskEventReasons.Retrying, w.next.message!));
    }
  }

  // 2. Dedupe: of identical waiting tasks, the first in dispatch order stays.
  const firstOf = new Map<string, Work>();
  for (const w of work) {
    const s = stateOf(w);
    if (s !== 'Pending' && s !== 'Queued') continue;
    const id = identity(w.task);
    const first = firstOf.get(id);
    if (!first) {
      firstOf.set(id, w);
      continue;
    }
    finish(w, 'Cancelled', TaskReasons.Duplicate, `duplicate of task ${first.task.metadata.name}`);
    events.push(eventFor(w.task, 'Normal', TaskEventReasons.Deduplicated, w.next.message!));
  }

  // 3. Indexes over the snapshot as it now stands.
  const nodes = new Map(snapshot.nodes.map((n) => [nameKey(n.metadata.namespace ?? '', n.metadata.name), n]));
  const containers = new Map(snapshot.containers.map((c) => [nameKey(c.metadata.namespace ?? '', c.metadata.name), c]));
  const byName = new Map([...finished, ...work].map((w) => [nameKey(ns(w.task), w.task.metadata.name), w]));
  const holdersByTarget = new Map<string, Work[]>();
  const holdingOnNode = new Map<string, number>();
  const hold = (w: Work) => {
    const k = targetKey(w.task);
    holdersByTarget.set(k, [...(holdersByTarget.get(k) ?? []), w]);
    const nk = nameKey(ns(w.task), w.task.spec.nodeName ?? '');
    holdingOnNode.set(nk, (holdingOnNode.get(nk) ?? 0) + 1);
  };
  const nodeProblem = (t: Task): string | undefined => {
    const name = t.spec.nodeName;
    if (!name) return 'waiting: the task names no node';
    const node = nodes.get(nameKey(ns(t), name));
    if (!node) return `waiting: node ${name} is not registered`;
    return isNodeReady(node) ? undefined : `waiting: node ${name} is not ready`;
  };
  for (const w of work) {
    if (!isHolding(w)) continue;
    // An Assigned task on a lost node gives its slot back; the agent's claim carries the old resourceVersion, so it cannot win too.
    const problem = stateOf(w) === 'Assigned' ? nodeProblem(w.task) : undefined;
    if (problem) w.next = { ...base(w.next), state: 'Queued', waitReason: 'NodeNotReady', message: problem };
    else hold(w);
  }

  const decide = (w: Work): Decision => {
    const t = w.task;
    for (const dep of t.spec.dependsOn ?? []) {
      const d = byName.get(nameKey(ns(t), dep));
      if (!d) return { kind: 'wait', reason: 'Dependency', message: `waiting for task ${dep} (not found)` };
      const ds = stateOf(d);
      if (ds === 'Completed') continue;
      if (isTaskFinished({ ...d.task, status: d.next })) return { kind: 'fail', message: `dependency task ${dep} is ${ds}${d.next.reason ? ` (${d.next.reason})` : ''}` };
      return { kind: 'wait', reason: 'Dependency', message: `waiting for task ${dep}` };
    }
    const problem = nodeProblem(t);
    if (problem) return { kind: 'wait', reason: 'NodeNotReady', message: problem };
    const holders = holdersByTarget.get(targetKey(t)) ?? [];
    const warnings: Work[] = [];
    for (const h of holders) {
      const policy = ConflictPolicy[conflictLevel(h.task.spec.type, t.spec.type)];
      if (policy === 'wait') return { kind: 'wait', reason: 'Conflict', message: `waiting: ${h.task.spec.type} of ${t.spec.target.name} in progress` };
      if (policy === 'warn') warnings.push(h);
    }
    if (t.spec.target.kind === 'Container' && NEEDS_DEPENDENCIES.has(t.spec.type)) {
      const container = containers.get(nameKey(ns(t), t.spec.target.name));
      for (const dep of container?.spec.dependsOn ?? []) {
        const busy = (holdersByTarget.get(`${ns(t)}/Container/${dep.name}`) ?? []).find((h) => DISRUPTIVE.has(h.task.spec.type));
        if (busy) return { kind: 'wait', reason: 'Dependency', message: `waiting: ${busy.task.spec.type} of ${dep.name} in progress` };
        const dc = containers.get(nameKey(ns(t), dep.name));
        const phase = dc?.status?.phase;
        if (phase && TRANSIENT_PHASES.has(phase)) return { kind: 'wait', reason: 'Dependency', message: `waiting: ${dep.name} is ${phase}` };
      }
    }
    const onNode = holdingOnNode.get(nameKey(ns(t), t.spec.nodeName ?? '')) ?? 0;
    if (onNode >= perNode) return { kind: 'wait', reason: 'NodeBusy', message: `waiting: ${onNode} tasks already running on ${t.spec.nodeName}` };
    if (holders.length >= perTarget) return { kind: 'wait', reason: 'ContainerBusy', message: `waiting: ${holders[0].task.spec.type} of ${t.spec.target.name} in progress` };
    return { kind: 'assign', warnings };
  };

  // 4. Release waiting tasks in order; each release counts against the limits of the ones after it.
  for (const w of work) {
    const s = stateOf(w);
    if (s !== 'Pending' && s !== 'Queued') continue;
    if (w.next.waitReason === 'Backoff' && (timeOf(w.next.nextAttemptAt) ?? 0) > now) continue;
    const d = decide(w);
    const t = w.task;
    if (d.kind === 'fail') {
      finish(w, 'Failed', TaskReasons.DependencyFailed, d.message);
      events.push(eventFor(t, 'Warning', TaskEventReasons.DependencyFailed, d.message));
    } else if (d.kind === 'wait') {
      const keep = w.next.waitReason === d.reason && w.next.message === d.message && s === 'Queued';
      if (!keep) w.next = { ...base(w.next), ...(w.next.reason ? { reason: w.next.reason } : {}), state: 'Queued', waitReason: d.reason, message: d.message };
    } else {
      w.next = { ...base(w.next), state: 'Assigned', assignedAt: iso(now), message: `assigned to node ${t.spec.nodeName}` };
      hold(w);
      for (const h of d.warnings) {
        events.push(eventFor(t, 'Warning', TaskEventReasons.ConcurrentOperation,
          `${t.spec.type} of ${t.spec.target.name} runs while ${h.task.spec.type} (task ${h.task.metadata.name}) is in progress`));
      }
    }
  }

  // 5. Only real changes, and the next moment something is due.
  const statusUpdates: TaskStatusUpdate[] = [];
  let due: number | undefined;
  const dueAt = (ms: number | undefined) => {
    if (ms !== undefined && ms > now && (due === undefined || ms < due)) due = ms;
  };
  for (const w of work) {
    if (stable(w.next) !== stable(w.task.status ?? {})) {
      statusUpdates.push({ name: w.task.metadata.name, namespace: ns(w.task), status: w.next });
    }
    if (stateOf(w) === 'Running') {
      dueAt(timeOf(w.next.leaseExpiresAt));
      const started = timeOf(w.next.startedAt);
      if (started !== undefined) dueAt(started + timeoutMsOf(w.task));
    }
    if (w.next.waitReason === 'Backoff') dueAt(timeOf(w.next.nextAttemptAt));
  }
  return { statusUpdates, events, ...(due !== undefined ? { requeueAfter: due - now } : {}) };
}

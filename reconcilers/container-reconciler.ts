// Pure Container reconcile: finalizer, placement on a Node, and the Tasks that turn desired state
// into what the node agent runs. Level-based: what was already asked for is read back from the
// container's Tasks (their type, generation and annotations), never from memory.
import type { Condition, KubeObject, OwnerReference } from '../core/types.ts';
import { API_VERSION } from '../core/types.ts';
import type { ContainerSpec, TaskSpec, TaskStatus, TaskType } from '../core/kinds.generated.ts';
import { deepEqual } from '../core/patch.ts';
import { isRetryableFailure, DEFAULT_TASK_MAX_RETRIES, DEFAULT_TASK_PRIORITY, DEFAULT_TASK_TIMEOUT } from '../core/task-meta.ts';
import type { Task } from '../core/kinds.generated.ts';
import { boundNode, placeContainer, type PlacementOptions, type PlacementView } from './container-placement.ts';
import { lastHeartbeatMs, readyCondition, NodeConditionReasons, type FailurePolicy } from './node-lifecycle.ts';
import type { EventSpec, ObjectPatch, ObjectRef, ReconcileResult } from './types.ts';

export const CONTAINER_FINALIZER = 'drover.dev/container-cleanup';
/** Set by `drover restart container X`; each distinct value asks for one restart. */
export const RESTARTED_AT_ANNOTATION = 'drover.dev/restartedAt';
/**
 * `node-a (NotReady)`: where a container was moved off, kept until it lands on a new node so the
 * Rescheduled event can say so even when no node was free at first. `drover drain` sets it too.
 */
export const MOVED_FROM_ANNOTATION = 'drover.dev/moved-from';
/**
 * `NODE@TIME`, set by `drover drain NODE`: move this container off NODE. The reconciler first removes the
 * copy on NODE (a delete Task carrying the same value) and only then places the container again, so it never
 * runs on two nodes at once. A pinned container ignores it; the annotation is cleared once it has moved.
 */
export const EVICT_ANNOTATION = 'drover.dev/evict';
/** The last restartedAt value a Task was created for, so pruning finished Tasks never repeats a restart. */
export const RESTART_HANDLED_ANNOTATION = 'drover.dev/restart-handled';
/** On deploy/start/update tasks: a hash of the runtime part of the spec they realise. */
export const SPEC_HASH_ANNOTATION = 'drover.dev/spec-hash';

export const TaskLabels = { container: 'drover.dev/container', node: 'drover.dev/node' } as const;

/** How often an unschedulable container tries again without a triggering event (kube-scheduler flushes its unschedulable queue similarly). */
export const UNSCHEDULABLE_RETRY_MS = 10_000;

export const ContainerReasons = {
  Unschedulable: 'Unschedulable',
  WaitingForDependencies: 'WaitingForDependencies',
  DeployFailed: 'DeployFailed',
  UpdateFailed: 'UpdateFailed',
  DeleteFailed: 'DeleteFailed',
} as const;

export const ContainerEventReasons = {
  Scheduled: 'Scheduled',
  FailedScheduling: 'FailedScheduling',
  Rescheduled: 'Rescheduled',
  DeployFailed: 'DeployFailed',
  UpdateFailed: 'UpdateFailed',
} as const;

/** Task status reasons this reconciler writes when it cancels a task. */
export const TaskCancelReasons = {
  NodeLost: 'NodeLost',
  ContainerDeleted: 'ContainerDeleted',
  Evicted: 'Evicted',
} as const;

export interface ContainerSnapshot {
  /** Nodes of the container's namespace. */
  nodes: KubeObject[];
  /** Containers of the same namespace (dependencies, capacity, spread); may be a lazy getter, read only when needed. */
  containers: KubeObject[];
  /** Containers bound to a node of the namespace (an index); without it, `containers` is scanned. */
  boundTo?: (node: string) => KubeObject[];
  /** A container of the namespace by name (a cache lookup); without it, `containers` is scanned. */
  named?: (name: string) => KubeObject | undefined;
  /** Tasks labelled with this container's name (any uid: older incarnations are filtered out here). */
  tasks: KubeObject[];
}

export interface ContainerReconcileOptions extends FailurePolicy {
  /** Floor for the fencing deadline: a restarted manager waits as if it had just seen a heartbeat. */
  managerStartedAt?: number;
  placement?: PlacementOptions;
}

const DEFAULT_TERMINATION_GRACE_S = 10;
/** Margin on top of the fencing time, for the lost node's own clock to have acted. */
export const FENCING_MARGIN_MS = 2000;

const LIVE_STATES = ['Pending', 'Queued', 'Assigned', 'Running'] as const;
/** Spec fields that only steer placement or desired state: changing them is not an `update`. */
const NON_RUNTIME_FIELDS = ['state', 'nodeName', 'nodeSelector', 'tolerations', 'spread', 'dependsOn', 'managed'];

export function reconcileContainer(
  container: KubeObject, snap: ContainerSnapshot, now: number, opts: ContainerReconcileOptions,
): ReconcileResult {
  const spec = (container.spec ?? {}) as ContainerSpec;
  if (spec.managed === false) {
    // Adopted by discovery: observed, never driven. One pinned to a node is bound there, so that node
    // reports its state and may place agents into it.
    if (!spec.nodeName || container.metadata.deletionTimestamp || container.status?.nodeName === spec.nodeName) return {};
    const b = new Builder(container);
    b.status.nodeName = spec.nodeName;
    return b.result();
  }
  const r = new Builder(container);
  const tasks = tasksOf(container, snap.tasks);

  if (container.metadata.deletionTimestamp) {
    reconcileDeletion(container, snap, tasks, now, opts, r);
    return r.result();
  }
  if (!(container.metadata.finalizers ?? []).includes(CONTAINER_FINALIZER)) {
    r.patchSelf({ metadata: { finalizers: [...(container.metadata.finalizers ?? []), CONTAINER_FINALIZER] } });
  }

  // ---- binding ----
  let node = boundNode(container);
  let movedFrom: string | undefined;
  if (node) {
    const loss = nodeLoss(snap.nodes.find((n) => n.metadata.name === node), container, now, opts);
    if (loss.lost && !spec.nodeName) {
      // Fenced: the lost node has stopped its copy by now, so a new one may start elsewhere.
      movedFrom = `${node} (${loss.why})`;
      for (const t of tasks) {
        if (t.spec?.nodeName === node && isLive(t)) r.cancelTask(t, TaskCancelReasons.NodeLost, `node ${node} was lost; the container is placed again`, now);
      }
      unbind(r.status);
      node = undefined;
    } else if (!loss.lost && loss.retryAfterMs !== undefined && !spec.nodeName) {
      r.requeue(loss.retryAfterMs);
    }
  }
  const evict = container.metadata.annotations?.[EVICT_ANNOTATION];
  if (evict !== undefined) {
    const from = evict.split('@')[0];
    if (node && node === from && !spec.nodeName) {
      // Drained: stop the copy there first; only then is the container free to be placed again.
      if (!evictCopy(container, node, evict, tasks, now, r)) return r.result();
      for (const t of tasks) {
        if (t.spec?.nodeName === node && isLive(t)) r.cancelTask(t, TaskCancelReasons.Evicted, `the container was moved off node ${node}`, now);
      }
      unbind(r.status);
      node = undefined;
      movedFrom = `${from} (drained)`;
    }
    // Moved (or pinned, which a drain does not move): the request is done.
    r.patchSelf({ metadata: { annotations: { [EVICT_ANNOTATION]: null } } });
  }
  if (!node) {
    // Unbound after a move or drain: a runtime report still here describes a copy that is gone.
    // (A pinned container never moves, so its report is about the one copy there is.)
    if (!isOwnPhase(r.status) && !spec.nodeName) unbind(r.status);
    // `containers` only when the view is asked for it: with no nodes, nothing is scanned.
    const view: PlacementView = { nodes: snap.nodes, get containers() { return snap.containers; }, ...(snap.boundTo ? { boundTo: snap.boundTo } : {}) };
    const placed = placeContainer(container, view, opts.placement);
    const remembered = container.metadata.annotations?.[MOVED_FROM_ANNOTATION];
    const from = movedFrom ?? remembered;
    if ('node' in placed) {
      r.status.nodeName = placed.node;
      setOwnPhase(r.status, 'Scheduled');
      // A pin bypasses the scheduler (like a pod with nodeName), so there is no placement to announce.
      if (from) r.event({ type: 'Normal', reason: ContainerEventReasons.Rescheduled, message: `moved from node ${from} to ${placed.node}` });
      else if (!spec.nodeName) r.event({ type: 'Normal', reason: ContainerEventReasons.Scheduled, message: `assigned to node ${placed.node}` });
      if (remembered) r.patchSelf({ metadata: { annotations: { [MOVED_FROM_ANNOTATION]: null } } });
    } else {
      if (movedFrom && movedFrom !== remembered) r.patchSelf({ metadata: { annotations: { [MOVED_FROM_ANNOTATION]: movedFrom } } });
      const changed = r.status.message !== placed.message;
      setOwnPhase(r.status, 'Pending', ContainerReasons.Unschedulable, placed.message);
      if (changed) r.event({ type: 'Warning', reason: ContainerEventReasons.FailedScheduling, message: placed.message });
      // Node changes and deletions of bound containers wake unschedulable containers at once; this retry covers the rest.
      r.requeue(UNSCHEDULABLE_RETRY_MS);
    }
    // Tasks wait for the binding to be stored: a lost status write must not leave tasks on a node it never got.
    return r.result();
  }

  // ---- tasks on the bound node ----
  const desiredRunning = (spec.state ?? 'Running') === 'Running';
  const generation = container.metadata.generation ?? 1;
  const onNode = tasks.filter((t) => t.spec?.nodeName === node);
  const notCancelled = onNode.filter((t) => stateOf(t) !== 'Cancelled');
  const hash = specHash(spec);
  const restartedAt = container.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  const carry = { [SPEC_HASH_ANNOTATION]: hash, ...(restartedAt ? { [RESTARTED_AT_ANNOTATION]: restartedAt } : {}) };

  const lastDeploy = latest(notCancelled.filter((t) => typeOf(t) === 'deploy'));
  const deployFailed = lastDeploy && isPermanentlyFailed(lastDeploy);
  if (!lastDeploy || (deployFailed && targetGeneration(lastDeploy) < generation)) {
    if (!desiredRunning) return r.result();
    const waiting = unmetDependencies(spec, snap.named ?? ((name) => snap.containers.find((c) => c.metadata.name === name)));
    if (waiting.length) {
      setOwnPhase(r.status, 'Pending', ContainerReasons.WaitingForDependencies, `waiting for ${waiting.join(', ')}`);
      return r.result();
    }
    setOwnPhase(r.status, 'Scheduled');
    r.task(container, 'deploy', node, generation, carry);
    return r.result();
  }
  if (deployFailed) {
    failPhase(r, ContainerReasons.DeployFailed, ContainerEventReasons.DeployFailed, 'deploy', lastDeploy);
    return r.result();
  }
  if (isOwnPhase(r.status) && r.status.reason === ContainerReasons.WaitingForDependencies) setOwnPhase(r.status, 'Scheduled');

  // Desired state: the newest deploy/start/stop says what the node was last told.
  const lastIntent = latest(notCancelled.filter((t) => ['deploy', 'start', 'stop'].includes(typeOf(t))));
  const toldRunning = typeOf(lastIntent!) !== 'stop';
  if (!desiredRunning) {
    if (toldRunning) r.task(container, 'stop', node, generation, {});
    return r.result();
  }
  if (!toldRunning) {
    r.task(container, 'start', node, generation, carry);
    return r.result();
  }

  // Spec change: compare with the newest task that carried a spec to the node.
  const lastSpec = latest(notCancelled.filter((t) => ['deploy', 'start', 'update'].includes(typeOf(t))))!;
  let restartCovered = false;
  if (lastSpec.metadata.annotations?.[SPEC_HASH_ANNOTATION] !== hash && targetGeneration(lastSpec) < generation) {
    r.task(container, 'update', node, generation, carry);
    restartCovered = true; // an update restarts the process anyway
  } else if (typeOf(lastSpec) === 'update' && isPermanentlyFailed(lastSpec)) {
    failPhase(r, ContainerReasons.UpdateFailed, ContainerEventReasons.UpdateFailed, 'update', lastSpec);
  }

  // Restart: one per distinct annotation value, remembered on the task that carried it and, once
  // that task exists, on the container (written only after the task, so a failed create is retried).
  const handled = container.metadata.annotations?.[RESTART_HANDLED_ANNOTATION];
  const carried = restartedAt !== undefined && tasks.some((t) => t.metadata.annotations?.[RESTARTED_AT_ANNOTATION] === restartedAt);
  if (restartedAt && !restartCovered && !carried && handled !== restartedAt) {
    r.task(container, 'restart', node, generation, { [RESTARTED_AT_ANNOTATION]: restartedAt });
  }
  if (carried && handled !== restartedAt) r.patchSelf({ metadata: { annotations: { [RESTART_HANDLED_ANNOTATION]: restartedAt } } });
  return r.result();
}

// ---- eviction (drain) ----

/**
 * Whether the copy on `node` is gone for the eviction request `evict`: never sent there, or removed by a
 * delete Task of this request. Otherwise the delete Task is created (or awaited) and false returned.
 */
function evictCopy(c: KubeObject, node: string, evict: string, tasks: KubeObject[], now: number, r: Builder): boolean {
  const onNode = tasks.filter((t) => t.spec?.nodeName === node && stateOf(t) !== 'Cancelled');
  if (!onNode.some((t) => typeOf(t) !== 'delete')) return true;
  for (const t of onNode) {
    if (typeOf(t) !== 'delete' && isLive(t) && stateOf(t) !== 'Running') r.cancelTask(t, TaskCancelReasons.Evicted, `the container is being moved off node ${node}`, now);
  }
  const del = latest(onNode.filter((t) => typeOf(t) === 'delete' && t.metadata.annotations?.[EVICT_ANNOTATION] === evict));
  if (del && stateOf(del) === 'Completed') return true;
  if (!del) r.task(c, 'delete', node, c.metadata.generation ?? 1, { [EVICT_ANNOTATION]: evict });
  if (del && isPermanentlyFailed(del)) {
    r.status.reason = ContainerReasons.DeleteFailed;
    r.status.message = `stopping the copy on node ${node} to move it failed: ${str(del.status?.message) ?? 'unknown error'} (retry with 'drover tasks retry ${del.metadata.name}')`;
  }
  return false;
}

// ---- deletion ----

function reconcileDeletion(
  c: KubeObject, snap: ContainerSnapshot, tasks: KubeObject[], now: number, opts: ContainerReconcileOptions, r: Builder,
): void {
  const finalizers = c.metadata.finalizers ?? [];
  if (!finalizers.includes(CONTAINER_FINALIZER)) return;
  const release = () => {
    const rest = finalizers.filter((f) => f !== CONTAINER_FINALIZER);
    r.patchSelf({ metadata: { finalizers: rest.length ? rest : null } });
  };
  // Work not started yet is moot now; a running task finishes (the delete waits behind it).
  for (const t of tasks) {
    if (typeOf(t) !== 'delete' && isLive(t) && stateOf(t) !== 'Running') {
      r.cancelTask(t, TaskCancelReasons.ContainerDeleted, 'the container is being deleted', now);
    }
  }
  const node = boundNode(c);
  if (!node) return release();
  const loss = nodeLoss(snap.nodes.find((n) => n.metadata.name === node), c, now, opts);
  if (loss.lost) return release(); // its copy is fenced; the node cleans up what is not bound to it when it returns
  const onNode = tasks.filter((t) => t.spec?.nodeName === node);
  if (!onNode.some((t) => typeOf(t) !== 'delete' && stateOf(t) !== 'Cancelled')) return release(); // never sent to the node

  const del = latest(onNode.filter((t) => typeOf(t) === 'delete' && stateOf(t) !== 'Cancelled'));
  if (!del) {
    r.task(c, 'delete', node, c.metadata.generation ?? 1, {});
  } else if (stateOf(del) === 'Completed') {
    release();
  } else if (isPermanentlyFailed(del)) {
    const msg = `delete failed on node ${node}: ${str(del.status?.message) ?? 'unknown error'} (retry with 'drover tasks retry ${del.metadata.name}')`;
    r.status.reason = ContainerReasons.DeleteFailed;
    r.status.message = msg;
  }
  if (loss.retryAfterMs !== undefined) r.requeue(loss.retryAfterMs);
}

// ---- node loss and fencing ----

export type NodeLoss = { lost: true; why: string } | { lost: false; retryAfterMs?: number };

/**
 * Whether a container's copy on `node` is certainly gone: the node is missing, its agent said it
 * stopped, or it is NotReady past lastHeartbeat + grace + terminationGracePeriod + margin (by
 * then the node has fenced itself). A NotReady node not yet past that answers when to look again.
 */
export function nodeLoss(node: KubeObject | undefined, container: KubeObject, now: number, opts: ContainerReconcileOptions): NodeLoss {
  if (!node) return { lost: true, why: 'gone' };
  const ready = readyCondition(node);
  if (ready?.status === 'False' && ready.reason === NodeConditionReasons.AgentStopped) return { lost: true, why: 'NotReady' };
  // A deleted node's credentials are revoked: it stops heartbeating and fences itself, Ready or not yet.
  const deleting = node.metadata.deletionTimestamp !== undefined;
  if (ready?.status === 'True' && !deleting) return { lost: false };
  const deadline = fencingDeadline(node, container, opts);
  const why = deleting ? 'deleted' : 'NotReady';
  return now >= deadline ? { lost: true, why } : { lost: false, retryAfterMs: deadline - now };
}

export function fencingDeadline(node: KubeObject, container: KubeObject, opts: ContainerReconcileOptions): number {
  const spec = (container.spec ?? {}) as ContainerSpec;
  const base = Math.max(lastHeartbeatMs(node) ?? 0, opts.managerStartedAt ?? 0);
  return base + opts.gracePeriodMs + (spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_S) * 1000 + FENCING_MARGIN_MS;
}

// ---- dependencies ----

/** `db (Healthy)` for each dependsOn entry not yet satisfied. */
export function unmetDependencies(spec: ContainerSpec, containers: KubeObject[] | ((name: string) => KubeObject | undefined)): string[] {
  const named = typeof containers === 'function' ? containers : (name: string) => containers.find((c) => c.metadata.name === name);
  const out: string[] = [];
  for (const d of spec.dependsOn ?? []) {
    const cond = d.condition ?? 'Started';
    const found = named(d.name);
    const dep = found && !found.metadata.deletionTimestamp ? found : undefined;
    const ok = dep !== undefined && (cond === 'Started' ? isStarted(dep) : isHealthy(dep));
    if (!ok) out.push(`${d.name} (${cond})`);
  }
  return out;
}

function isStarted(c: KubeObject): boolean {
  return conditionTrue(c, 'Started') || c.status?.phase === 'Running';
}

function isHealthy(c: KubeObject): boolean {
  if (c.status?.health === 'Healthy' || conditionTrue(c, 'Healthy')) return true;
  return c.status?.phase === 'Running' && !(c.spec as ContainerSpec | undefined)?.healthCheck;
}

function conditionTrue(o: KubeObject, type: string): boolean {
  return ((o.status?.conditions as Condition[] | undefined) ?? []).some((x) => x.type === type && x.status === 'True');
}

// ---- tasks ----

function tasksOf(c: KubeObject, tasks: KubeObject[]): KubeObject[] {
  const uid = c.metadata.uid;
  return tasks.filter((t) => {
    const target = (t.spec as TaskSpec | undefined)?.target;
    return target?.kind === 'Container' && target.name === c.metadata.name && (!uid || !target.uid || target.uid === uid);
  });
}

const typeOf = (t: KubeObject) => (t.spec as TaskSpec | undefined)?.type ?? '';
const stateOf = (t: KubeObject) => (t.status as TaskStatus | undefined)?.state ?? 'Pending';
const isLive = (t: KubeObject) => (LIVE_STATES as readonly string[]).includes(stateOf(t));
const targetGeneration = (t: KubeObject) => (t.spec as TaskSpec | undefined)?.target.generation ?? 0;

/** Failed for good (no retries left, or a failure the dispatcher decided, such as Timeout). */
export function isPermanentlyFailed(t: KubeObject): boolean {
  return stateOf(t) === 'Failed' && !isRetryableFailure(t as Task);
}

/** Newest by target generation, then creation time, then name. */
function latest(tasks: KubeObject[]): KubeObject | undefined {
  const key = (t: KubeObject) => [targetGeneration(t), t.metadata.creationTimestamp ?? '', t.metadata.name] as const;
  let best: KubeObject | undefined;
  for (const t of tasks) {
    if (!best) { best = t; continue; }
    const [a, b] = [key(t), key(best)];
    if (a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) best = t;
  }
  return best;
}

/** FNV-1a over the canonical JSON of the spec's runtime fields: stable, pure, short. */
export function specHash(spec: ContainerSpec): string {
  const runtime = Object.fromEntries(Object.entries(spec).filter(([k]) => !NON_RUNTIME_FIELDS.includes(k)));
  const text = JSON.stringify(canonical(runtime));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

// ---- status ----

/** Phases the reconciler may write; the agent owns the runtime ones. */
const OWN_PHASES = ['Pending', 'Scheduled'];
const OWN_FAILURE_REASONS: string[] = [ContainerReasons.DeployFailed, ContainerReasons.UpdateFailed];

function isOwnPhase(st: Record<string, unknown>): boolean {
  const p = st.phase;
  return p === undefined || OWN_PHASES.includes(p as string) || (p === 'Failed' && OWN_FAILURE_REASONS.includes(st.reason as string));
}

function setOwnPhase(st: Record<string, unknown>, phase: string, reason?: string, message?: string): void {
  if (!isOwnPhase(st)) return;
  st.phase = phase;
  if (reason) st.reason = reason; else delete st.reason;
  if (message) st.message = message; else delete st.message;
}

function failPhase(r: Builder, reason: string, eventReason: string, what: string, t: KubeObject): void {
  const st = r.status;
  const stale = (st.observedGeneration as number | undefined ?? 0) < targetGeneration(t);
  if (!isOwnPhase(st) && !stale) return; // the agent reports the generation it runs; leave it be
  const message = `${what} failed after ${(t.status as TaskStatus).attempts ?? 0} attempts: ${str(t.status?.message) ?? str(t.status?.reason) ?? 'unknown error'}`;
  if (st.phase === 'Failed' && st.message === message) return;
  st.phase = 'Failed';
  st.reason = reason;
  st.message = message;
  r.event({ type: 'Warning', reason: eventReason, message });
}

/** A new placement starts from scratch: the old node's runtime report describes a copy that is gone. */
function unbind(st: Record<string, unknown>): void {
  for (const k of ['nodeName', 'containerID', 'imageID', 'health', 'startedAt', 'usage', 'observedGeneration', 'conditions', 'agents', 'hostedAgents']) delete st[k];
  st.phase = 'Pending';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

// ---- the diff being built ----

class Builder {
  readonly status: Record<string, unknown>;
  readonly #c: KubeObject;
  readonly #patches: ObjectPatch[] = [];
  readonly #tasks: KubeObject[] = [];
  readonly #events: EventSpec[] = [];
  #requeue?: number;

  constructor(c: KubeObject) {
    this.#c = c;
    this.status = structuredClone(c.status ?? {});
  }

  patchSelf(patch: Record<string, unknown>): void {
    this.#patches.push({ ref: refOf(this.#c), patch });
  }

  cancelTask(t: KubeObject, reason: string, message: string, now: number): void {
    this.#patches.push({ ref: refOf(t), patch: { status: { state: 'Cancelled', reason, message, completedAt: new Date(now).toISOString() } } });
  }

  task(c: KubeObject, type: TaskType, node: string, generation: number, annotations: Record<string, string>): void {
    this.#tasks.push(newTask(c, type, node, generation, annotations));
  }

  event(e: EventSpec): void {
    this.#events.push(e);
  }

  requeue(ms: number): void {
    this.#requeue = Math.max(1, this.#requeue === undefined ? ms : Math.min(this.#requeue, ms));
  }

  result(): ReconcileResult {
    const out: ReconcileResult = {};
    if (!deepEqual(this.status, this.#c.status ?? {})) out.status = this.status;
    if (this.#patches.length) out.patch = this.#patches;
    if (this.#tasks.length) out.tasks = this.#tasks;
    if (this.#events.length) out.events = this.#events;
    if (this.#requeue !== undefined) out.requeueAfter = this.#requeue;
    return out;
  }
}

function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid };
}

/** A Task for the agent of `node`. Delete tasks have no owner: the owner is about to disappear. */
export function newTask(c: KubeObject, type: TaskType, node: string, generation: number, annotations: Record<string, string>): KubeObject {
  const meta = c.metadata;
  const owner: OwnerReference = { apiVersion: c.apiVersion, kind: c.kind, name: meta.name, uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true };
  const spec: TaskSpec = {
    type,
    target: { kind: 'Container', name: meta.name, ...(meta.uid ? { uid: meta.uid } : {}), generation },
    nodeName: node,
    priority: DEFAULT_TASK_PRIORITY,
    maxRetries: DEFAULT_TASK_MAX_RETRIES,
    timeout: DEFAULT_TASK_TIMEOUT,
  };
  return {
    apiVersion: API_VERSION,
    kind: 'Task',
    metadata: {
      name: '',
      generateName: `${meta.name}-${type}-`,
      namespace: meta.namespace,
      labels: { [TaskLabels.container]: meta.name, [TaskLabels.node]: node },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ...(type !== 'delete' && meta.uid ? { ownerReferences: [owner] } : {}),
    },
    spec: spec as unknown as Record<string, unknown>,
  };
}

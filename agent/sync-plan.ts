// The agent's level-based decision, pure: given what the manager says is bound to this node and
// what the runtime runs, which tasks to claim, which containers to restore and which to remove.
import type { KubeObject } from '../core/types.ts';
import type { ContainerInfo } from './runtime.ts';

export const OPEN_TASK_STATES = ['Pending', 'Queued', 'Assigned', 'Running'] as const;
/** Task types after whose completion the container is meant to be running. */
const RUNNING_TASK_TYPES = new Set(['deploy', 'update', 'start', 'restart']);

export interface SyncInput {
  tasks: KubeObject[];
  /** Containers bound to this node (status.nodeName = self). */
  containers: KubeObject[];
  local: ContainerInfo[];
  /** Task uids being executed right now. */
  inFlightTasks: ReadonlySet<string>;
  /** `ns/name` keys with a runtime operation in progress or done after the lists were read. */
  busy: ReadonlySet<string>;
  /** `ns/name` keys this agent stopped when it fenced itself. */
  fenced: ReadonlySet<string>;
  /** The runtime attaches to discovered (spec.managed=false) containers (docker runtime). */
  attachUnmanaged?: boolean;
}

export interface SyncPlan {
  claim: KubeObject[];
  redeploy: KubeObject[];
  remove: ContainerInfo[];
}

export const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

function taskState(t: KubeObject): string {
  return (t.status?.state as string | undefined) ?? 'Pending';
}

function target(t: KubeObject): { kind?: string; name?: string; uid?: string } {
  return ((t.spec?.target ?? {}) as { kind?: string; name?: string; uid?: string });
}

function targets(t: KubeObject, c: KubeObject): boolean {
  const tg = target(t);
  if ((tg.kind ?? 'Container') !== 'Container' || tg.name !== c.metadata.name) return false;
  return !tg.uid || tg.uid === c.metadata.uid;
}

/** Oldest completion first (completedAt, then creation). */
function byCompletion(a: KubeObject, b: KubeObject): number {
  const ka = `${(a.status?.completedAt as string | undefined) ?? ''}|${a.metadata.creationTimestamp ?? ''}`;
  const kb = `${(b.status?.completedAt as string | undefined) ?? ''}|${b.metadata.creationTimestamp ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Priority desc, then age, then name: the dispatcher's order. */
export function taskOrder(a: KubeObject, b: KubeObject): number {
  const pa = (a.spec?.priority as number | undefined) ?? 5;
  const pb = (b.spec?.priority as number | undefined) ?? 5;
  if (pa !== pb) return pb - pa;
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * Restore rule: a bound container meant to run that the runtime does not run, with no open task for
 * it, is redeployed directly when it ran here before (a deploy/update/start/restart task Completed on
 * this node, or this agent fenced it). The task already completed; the agent restores desired state.
 */
function needsRestore(c: KubeObject, input: SyncInput, localByKey: Map<string, ContainerInfo>): boolean {
  const key = keyOf(c.metadata.namespace, c.metadata.name);
  if (c.metadata.deletionTimestamp || input.busy.has(key)) return false;
  if (c.spec?.managed === false) {
    // Discovered: attached (never created) whenever the runtime does not know it under this uid.
    const local = localByKey.get(key);
    return input.attachUnmanaged === true && (!local || (c.metadata.uid !== undefined && local.uid !== c.metadata.uid));
  }
  if ((c.spec?.state as string | undefined) === 'Stopped') return false;
  if (localByKey.has(key)) return false;
  const mine = input.tasks.filter((t) => targets(t, c));
  if (mine.some((t) => (OPEN_TASK_STATES as readonly string[]).includes(taskState(t)))) return false;
  if (input.fenced.has(key)) return true;
  // Removed here on purpose (a drain's delete Task): the manager is moving it; not restored.
  const completed = mine.filter((t) => taskState(t) === 'Completed').sort(byCompletion);
  const last = completed[completed.length - 1];
  if (last?.spec?.type === 'delete') return false;
  return completed.some((t) => RUNNING_TASK_TYPES.has(t.spec?.type as string));
}

export function planSync(input: SyncInput): SyncPlan {
  const localByKey = new Map(input.local.map((i) => [keyOf(i.namespace, i.name), i]));
  const boundByKey = new Map(input.containers.map((c) => [keyOf(c.metadata.namespace, c.metadata.name), c]));
  const claim = input.tasks
    .filter((t) => taskState(t) === 'Assigned' && !input.inFlightTasks.has(t.metadata.uid ?? t.metadata.name))
    .sort(taskOrder);
  const redeploy = input.containers.filter((c) => needsRestore(c, input, localByKey)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const remove = input.local.filter((i) => {
    const key = keyOf(i.namespace, i.name);
    if (input.busy.has(key)) return false;
    const bound = boundByKey.get(key);
    if (bound?.spec?.managed === false && input.attachUnmanaged) return false; // re-attached by redeploy, never removed
    // Not bound here any more (deleted, or re-placed while this node was lost), or a new object of the same name.
    return !bound || (bound.metadata.uid !== undefined && bound.metadata.uid !== i.uid);
  });
  return { claim, redeploy, remove };
}

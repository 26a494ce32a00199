// Apply sets, in the spirit of kubectl's ApplySet (KEP-3659): every object an apply set applies carries the
// label applyset.drover.dev/part-of=<set id>; the set's parent object knows the id (label applyset.drover.dev/id)
// and where members may live. Pruning deletes only labelled members the new apply lacks — never an object
// without the label, never one labelled by another set. `drover apply --prune` and the GitOps controller
// share these functions.
import { createHash } from 'node:crypto';
import { kindRank } from './kind-order.ts';
import { matchesLabels, type LabelSelector } from './selectors.ts';
import type { KubeObject } from './types.ts';

/** On members: the id of the set they belong to. */
export const APPLYSET_PART_OF_LABEL = 'applyset.drover.dev/part-of';
/** On the parent: its own id. */
export const APPLYSET_ID_LABEL = 'applyset.drover.dev/id';

export interface ApplySetParent {
  kind: string;
  group: string;
  name: string;
  namespace?: string;
}

/** One member: kind, namespace (absent for cluster-scoped kinds) and name; uid when known (a delete precondition). */
export interface MemberRef {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** Where members may live: `Kind.group` names and namespaces, each sorted and unique. */
export interface ApplySetScope {
  groupKinds: string[];
  namespaces: string[];
}

/**
 * KEP-3659's id: `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, 55 characters, a valid label value.
 * The parent's kind is part of it, so `drover apply --applyset web` never touches what GitRepository `web` applied.
 */
export function applySetId(p: ApplySetParent): string {
  const digest = createHash('sha256').update(`${p.name}.${p.namespace ?? ''}.${p.kind}.${p.group}`).digest('base64url');
  return `applyset-${digest}-v1`;
}

export function memberKey(ref: { kind: string; namespace?: string; name: string }): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

export function memberRefOf(obj: KubeObject): MemberRef {
  const m = obj.metadata;
  return { kind: obj.kind, ...(m.namespace ? { namespace: m.namespace } : {}), name: m.name, ...(m.uid ? { uid: m.uid } : {}) };
}

/** `container demo/web`, for messages. */
export function describeMember(ref: MemberRef): string {
  return `${ref.kind.toLowerCase()} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** The set a live object belongs to, if any. */
export function setOf(obj: KubeObject | undefined): string | undefined {
  return obj?.metadata.labels?.[APPLYSET_PART_OF_LABEL] || undefined;
}

/** The other set that owns `live`, when it is not ours: such an object is never taken over silently. */
export function ownedByAnotherSet(live: KubeObject | undefined, setId: string): string | undefined {
  const owner = setOf(live);
  return owner && owner !== setId ? owner : undefined;
}

/** A copy of `obj` labelled as a member of `setId`. */
export function withMembership(obj: KubeObject, setId: string): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...(obj.metadata.labels ?? {}), [APPLYSET_PART_OF_LABEL]: setId } } };
}

const sortedUnique = (xs: Iterable<string>) => [...new Set(xs)].filter(Boolean).sort();

/** The scope of a set of members (`Container.drover.dev`, namespaces). */
export function scopeOf(members: Array<{ kind: string; group: string; namespace?: string }>): ApplySetScope {
  return {
    groupKinds: sortedUnique(members.map((m) => `${m.kind}.${m.group}`)),
    namespaces: sortedUnique(members.map((m) => m.namespace ?? '')),
  };
}

export function unionScope(a: ApplySetScope, b: ApplySetScope): ApplySetScope {
  return { groupKinds: sortedUnique([...a.groupKinds, ...b.groupKinds]), namespaces: sortedUnique([...a.namespaces, ...b.namespaces]) };
}

export interface PruneInput {
  setId: string;
  /** What the new apply holds. */
  desired: Array<{ kind: string; namespace?: string; name: string }>;
  /** Objects found where members may live (any labels: the decision filters). */
  live: KubeObject[];
  /** `-l`: only members matching it are pruned (the apply itself was limited to them). */
  selector?: LabelSelector;
}

/**
 * What to delete: live objects labelled as members of this set that the new apply lacks, not already being
 * deleted, in reverse apply order (AgentDeployments before Containers). Everything else is left alone.
 */
export function planPrune(input: PruneInput): MemberRef[] {
  const wanted = new Set(input.desired.map(memberKey));
  const seen = new Set<string>();
  const out: MemberRef[] = [];
  for (const obj of input.live) {
    if (setOf(obj) !== input.setId) continue;
    if (obj.metadata.deletionTimestamp) continue;
    if (input.selector && !matchesLabels(input.selector, obj.metadata.labels)) continue;
    const ref = memberRefOf(obj);
    const key = memberKey(ref);
    if (wanted.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push(ref);
  }
  return out.sort((a, b) => kindRank(b.kind) - kindRank(a.kind) || a.kind.localeCompare(b.kind)
    || (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name));
}

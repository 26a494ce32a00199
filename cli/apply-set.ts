// `drover apply --applyset NAME [--prune]`: the parent ApplySet object (in the -n namespace) carries the set's
// id and the kinds and namespaces its members may live in; before anything is applied it is widened to cover
// the new members too (so an interrupted apply never loses track of one), and after a prune it is narrowed to
// exactly what the set now holds. What to prune is decided by core/apply-set.ts, shared with the GitOps controller.
import {
  APPLYSET_ID_LABEL, APPLYSET_PART_OF_LABEL, applySetId, planPrune, scopeOf, unionScope, type ApplySetScope, type MemberRef,
} from '../core/apply-set.ts';
import type { ApiClient } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import { dns1123Subdomain } from '../core/names.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import { parseLabelSelector } from '../core/selectors.ts';
import type { KubeObject } from '../core/types.ts';
import { GROUP } from '../core/types.ts';
import { CLIError, usageError } from './cli-error.ts';
import { clientVersion } from './commands/version.ts';

export interface ApplySetRef {
  name: string;
  namespace: string;
  id: string;
}

export function applySetRef(name: string, namespace: string): ApplySetRef {
  const problems = dns1123Subdomain(name);
  if (problems.length) throw usageError(`invalid --applyset name "${name}": ${problems.join('; ')}`, 'name the set like an object, e.g. --applyset web');
  return { name, namespace, id: applySetId({ kind: 'ApplySet', group: GROUP, name, namespace }) };
}

function parentType(registry: ResourceRegistry): ResourceType {
  const rt = registry.resolve('ApplySet');
  if (!rt) throw new CLIError('this drover has no ApplySet kind (crds/applyset.yaml is missing)');
  return rt;
}

function recordedScope(parent: KubeObject | undefined): ApplySetScope {
  const spec = (parent?.spec ?? {}) as { groupKinds?: string[]; namespaces?: string[] };
  return { groupKinds: spec.groupKinds ?? [], namespaces: spec.namespaces ?? [] };
}

/** The scope of the objects about to be applied. */
export function scopeOfPrepared(objects: Array<{ rt: ResourceType; namespace: string | undefined }>): ApplySetScope {
  return scopeOf(objects.map((o) => ({ kind: o.rt.kind, group: o.rt.group, namespace: o.namespace })));
}

/**
 * Read the parent (refusing one whose id label names another set) and, unless this is a dry run, record the
 * union of what it knew and the new scope. Returns the scope to look for members in.
 */
export async function beginApplySet(client: ApiClient, registry: ResourceRegistry, set: ApplySetRef, scope: ApplySetScope, write: boolean): Promise<ApplySetScope> {
  const rt = parentType(registry);
  let parent: KubeObject | undefined;
  try {
    parent = await client.get(rt, set.namespace, set.name);
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
  }
  if (parent && parent.metadata.labels?.[APPLYSET_ID_LABEL] !== set.id) {
    throw new CLIError(`applyset.drover.dev/${set.name} in namespace "${set.namespace}" does not carry the label ${APPLYSET_ID_LABEL}=${set.id}`,
      { hint: 'it was not made by drover apply --applyset; delete it or pick another set name' });
  }
  const union = unionScope(recordedScope(parent), scope);
  if (!write) return union;
  const spec = { tooling: `drover/${clientVersion()}`, ...union };
  if (!parent) {
    await client.create(rt, {
      apiVersion: rt.apiVersion, kind: rt.kind,
      metadata: { name: set.name, namespace: set.namespace, labels: { [APPLYSET_ID_LABEL]: set.id } },
      spec,
    });
  } else if (JSON.stringify(recordedScope(parent)) !== JSON.stringify(union)) {
    await client.patch(rt, set.namespace, set.name, { spec }, 'merge');
  }
  return union;
}

/** After a prune: the parent records exactly where the members now are. */
export async function finishApplySet(client: ApiClient, registry: ResourceRegistry, set: ApplySetRef, scope: ApplySetScope): Promise<void> {
  await client.patch(parentType(registry), set.namespace, set.name, { spec: { tooling: `drover/${clientVersion()}`, ...scope } }, 'merge');
}

export interface PruneRequest {
  set: ApplySetRef;
  /** Where members may be: the union of the recorded and the new scope. */
  scope: ApplySetScope;
  desired: Array<{ kind: string; namespace?: string; name: string }>;
  /** `-l`: only members matching it are pruned. */
  selector?: string;
}

/** Members of the set, in its scope, that the apply lacks (core/apply-set.ts planPrune). */
export async function findPrunable(client: ApiClient, registry: ResourceRegistry, req: PruneRequest): Promise<Array<{ rt: ResourceType; ref: MemberRef }>> {
  const labelSelector = [`${APPLYSET_PART_OF_LABEL}=${req.set.id}`, req.selector].filter(Boolean).join(',');
  const live: KubeObject[] = [];
  for (const gk of req.scope.groupKinds) {
    const rt = registry.resolve(gk);
    if (!rt) continue; // a kind that no longer exists holds no members
    const namespaces = rt.namespaced ? req.scope.namespaces.filter(Boolean) : [undefined];
    for (const namespace of namespaces) {
      const list = await client.list(rt, { namespace, labelSelector });
      live.push(...list.items.map((o) => ({ ...o, kind: o.kind || rt.kind })));
    }
  }
  const selector = req.selector ? parseLabelSelector(req.selector) : undefined;
  return planPrune({ setId: req.set.id, desired: req.desired, live, selector }).map((ref) => ({ rt: registry.resolve(ref.kind)!, ref }));
}

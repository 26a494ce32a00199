// Create, read, replace, patch and delete of whole objects. Spec writes never touch status: the
// status subresource (subresource-handlers.ts) owns it.
import { randomUUID } from 'node:crypto';
import { AlreadyExists, BadRequest, Conflict, Invalid, isApiError } from '../core/errors.ts';
import { applyJsonPatch, applyMergePatch, isPlainObject } from '../core/patch.ts';
import { MAX_NESTING_DEPTH, valueDepthExceededAt } from '../core/input-limits.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeList, KubeObject, OwnerReference } from '../core/types.ts';
import type { ListOptions } from '../core/store.ts';
import { admit, incomingObject, requireCluster } from './admission.ts';
import type { ApiContext } from './context.ts';
import type { PatchType } from './request-body.ts';
import type { ResourceTarget } from './resource-path.ts';

export interface Reply {
  code: number;
  body: unknown;
}

const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields'] as const;
/** A list limit above this returns everything anyway. */
const MAX_LIST_LIMIT = 1_000_000_000;
// Patches retry on a concurrent write unless the caller pinned a resourceVersion, like Kubernetes.
const PATCH_ATTEMPTS = 5;

export function applyPatch(target: unknown, type: PatchType, patch: unknown): unknown {
  let out: unknown;
  if (type === 'merge') {
    if (!isPlainObject(patch)) throw new BadRequest('merge patch must be a JSON object');
    out = applyMergePatch(target, patch);
  } else {
    out = applyJsonPatch(target, patch);
  }
  // a JSON patch can nest a copy of a subtree inside itself, again and again
  const deep = valueDepthExceededAt(out);
  if (deep !== undefined) throw new Invalid(`the patched object nests deeper than the limit of ${MAX_NESTING_DEPTH} levels (at ${deep.length > 120 ? `…${deep.slice(-120)}` : deep})`);
  return out;
}

function conflictOnStale(rt: ResourceType, name: string, wanted: string | undefined, actual: string | undefined): void {
  if (wanted && wanted !== actual) {
    throw new Conflict(`Operation cannot be fulfilled on ${rt.key} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: rt.group, kind: rt.plural });
  }
}

/** Keep what a client may not change through the main resource: identity, deletion state, status. */
function carryServerState(rt: ResourceType, next: KubeObject, current: KubeObject): void {
  const m = next.metadata;
  for (const f of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (current.metadata[f] === undefined) delete m[f];
    else (m as unknown as Record<string, unknown>)[f] = current.metadata[f];
  }
  if (rt.hasStatus) {
    if (current.status === undefined) delete next.status;
    else next.status = current.status;
  }
}

export async function getObject(ctx: ApiContext, t: ResourceTarget): Promise<Reply> {
  return { code: 200, body: await ctx.store.get(t.rt.key, t.namespace, t.name!) };
}

export function listOptions(t: ResourceTarget, query: Record<string, unknown>): ListOptions {
  const str = (k: string) => (typeof query[k] === 'string' && query[k] !== '' ? (query[k] as string) : undefined);
  const limitRaw = str('limit');
  let limit: number | undefined;
  if (limitRaw !== undefined) {
    limit = Number(limitRaw);
    if (!/^[0-9]+$/.test(limitRaw) || !Number.isInteger(limit)) throw new BadRequest(`limit must be a non-negative integer, got "${limitRaw.slice(0, 64)}"`);
    if (!Number.isSafeInteger(limit)) throw new BadRequest(`limit must be at most ${Number.MAX_SAFE_INTEGER}, got "${limitRaw.slice(0, 64)}"`);
    // larger than any store: the same as no limit (and SQLite takes no LIMIT beyond int64)
    if (limit > MAX_LIST_LIMIT) limit = undefined;
  }
  const rv = str('resourceVersion');
  if (rv !== undefined && !/^[0-9]+$/.test(rv)) throw new BadRequest(`resourceVersion must be a revision (a decimal number), got "${rv.length > 64 ? `${rv.slice(0, 64)}…` : rv}"`);
  const fieldSelector = [str('fieldSelector'), t.onlyName !== undefined ? `metadata.name=${t.onlyName}` : undefined].filter(Boolean).join(',') || undefined;
  return { namespace: t.namespace, labelSelector: str('labelSelector'), fieldSelector, limit, continue: str('continue') };
}

export async function listObjects(ctx: ApiContext, t: ResourceTarget, query: Record<string, unknown>): Promise<Reply> {
  const r = await ctx.store.list(t.rt.key, listOptions(t, query));
  const list: KubeList = {
    apiVersion: t.rt.apiVersion, kind: t.rt.listKind,
    metadata: {
      resourceVersion: r.resourceVersion,
      ...(r.continue ? { continue: r.continue } : {}),
      ...(r.remainingItemCount !== undefined ? { remainingItemCount: r.remainingItemCount } : {}),
    },
    items: r.items,
  };
  return { code: 200, body: list };
}

export async function createObject(ctx: ApiContext, t: ResourceTarget, body: unknown, dryRun: boolean): Promise<Reply> {
  const { rt } = t;
  const obj = incomingObject(t, body);
  for (const f of SERVER_FIELDS) delete obj.metadata[f];
  // Kubernetes resets status on create for kinds with a status subresource
  if (rt.hasStatus) delete obj.status;
  if (rt.namespaced) await requireCluster(ctx, t.namespace!);
  const admitted = await admit(ctx, rt, obj);
  if (dryRun) {
    if (admitted.metadata.name) {
      const exists = await ctx.store.get(rt.key, t.namespace, admitted.metadata.name).then(() => true, (e) => {
        if (isApiError(e, 404)) return false;
        throw e;
      });
      if (exists) throw new AlreadyExists(`${rt.key} "${admitted.metadata.name}" already exists`, { name: admitted.metadata.name, group: rt.group, kind: rt.plural });
    }
    admitted.metadata = { ...admitted.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), generation: 1 };
    return { code: 201, body: admitted };
  }
  return { code: 201, body: await ctx.store.create(rt.key, admitted) };
}

/** Store the next version of an object (after admission); dry run only checks the precondition. */
async function write(ctx: ApiContext, rt: ResourceType, next: KubeObject, current: KubeObject, dryRun: boolean): Promise<KubeObject> {
  if (dryRun) {
    conflictOnStale(rt, next.metadata.name, next.metadata.resourceVersion, current.metadata.resourceVersion);
    return { ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } };
  }
  return ctx.store.update(rt.key, next);
}

/** Admission may rewrite the object; the caller's precondition must survive it. */
async function admitKeepingVersion(ctx: ApiContext, rt: ResourceType, next: KubeObject, subresource?: 'status'): Promise<KubeObject> {
  const rv = next.metadata.resourceVersion;
  const admitted = await admit(ctx, rt, next, subresource);
  if (rv === undefined) delete admitted.metadata.resourceVersion;
  else admitted.metadata.resourceVersion = rv;
  return admitted;
}

export async function replaceObject(ctx: ApiContext, t: ResourceTarget, body: unknown, dryRun: boolean): Promise<Reply> {
  const { rt } = t;
  const current = await ctx.store.get(rt.key, t.namespace, t.name!);
  const next = incomingObject(t, body);
  if (next.metadata.uid && next.metadata.uid !== current.metadata.uid) {
    throw new Conflict(`Operation cannot be fulfilled on ${rt.key} "${t.name}": Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
  }
  carryServerState(rt, next, current);
  delete next.metadata.managedFields;
  const admitted = await admitKeepingVersion(ctx, rt, next);
  return { code: 200, body: await write(ctx, rt, admitted, current, dryRun) };
}

/**
 * Read, patch, admit, write; retried on a concurrent write unless the patch itself set
 * metadata.resourceVersion (then a stale version is the caller's 409).
 */
export async function patchWithRetry(
  ctx: ApiContext, t: ResourceTarget, dryRun: boolean,
  build: (current: KubeObject) => Promise<KubeObject>,
): Promise<KubeObject> {
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.store.get(t.rt.key, t.namespace, t.name!);
    const next = await build(current);
    const pinned = Boolean(next.metadata.resourceVersion) && next.metadata.resourceVersion !== current.metadata.resourceVersion;
    if (!next.metadata.resourceVersion) next.metadata.resourceVersion = current.metadata.resourceVersion;
    try {
      return await write(ctx, t.rt, next, current, dryRun);
    } catch (e) {
      if (pinned || attempt >= PATCH_ATTEMPTS || !isApiError(e, 409)) throw e;
    }
  }
}

/** The patched document must still be this object: same kind, name and namespace. */
export function checkPatchedIdentity(rt: ResourceType, patched: unknown, current: KubeObject): KubeObject {
  if (!isPlainObject(patched) || !isPlainObject(patched.metadata)) throw new Invalid(`${rt.kind}.${rt.group} "${current.metadata.name}" is invalid: the patch must leave an object with metadata`);
  const p = patched as KubeObject;
  const causes = [];
  if (p.metadata.name !== current.metadata.name) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${String(p.metadata.name)}": field is immutable` });
  if (p.metadata.namespace !== current.metadata.namespace) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.namespace', message: `Invalid value: "${String(p.metadata.namespace)}": field is immutable` });
  if (p.kind !== current.kind || p.apiVersion !== current.apiVersion) causes.push({ reason: 'FieldValueInvalid', field: 'kind', message: 'kind and apiVersion cannot be changed by a patch' });
  if (causes.length) {
    throw new Invalid(`${rt.kind}.${rt.group} "${current.metadata.name}" is invalid: [${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}]`,
      { name: current.metadata.name, group: rt.group, kind: rt.kind, causes });
  }
  return p;
}

export async function patchObject(ctx: ApiContext, t: ResourceTarget, type: PatchType, patch: unknown, dryRun: boolean): Promise<Reply> {
  const { rt } = t;
  const updated = await patchWithRetry(ctx, t, dryRun, async (current) => {
    const next = checkPatchedIdentity(rt, applyPatch(current, type, patch), current);
    carryServerState(rt, next, current);
    return admitKeepingVersion(ctx, rt, next);
  });
  return { code: 200, body: updated };
}

export const PropagationPolicies = ['Background', 'Foreground', 'Orphan'] as const;
export type PropagationPolicy = (typeof PropagationPolicies)[number];

export interface DeleteRequest {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: PropagationPolicy;
}

export function parseDeleteOptions(body: unknown, query: Record<string, unknown>): DeleteRequest {
  const b = isPlainObject(body) ? body : {};
  if (body !== undefined && !isPlainObject(body)) throw new BadRequest('DeleteOptions must be a JSON object');
  const pre = isPlainObject(b.preconditions) ? (b.preconditions as DeleteRequest['preconditions']) : undefined;
  const policy = (b.propagationPolicy ?? query.propagationPolicy) as string | undefined;
  if (policy !== undefined && !(PropagationPolicies as readonly string[]).includes(policy)) {
    throw new BadRequest(`propagationPolicy "${policy}" is not supported: use one of ${PropagationPolicies.join(', ')}`);
  }
  return { preconditions: pre, propagationPolicy: policy as PropagationPolicy | undefined };
}

/** Orphan: dependents in the same namespace lose their ownerReference to the deleted object. */
async function orphanDependents(ctx: ApiContext, owner: KubeObject): Promise<void> {
  const uid = owner.metadata.uid;
  for (const rt of ctx.registry.all()) {
    if (!rt.namespaced) continue;
    const { items } = await ctx.store.list(rt.key, owner.metadata.namespace ? { namespace: owner.metadata.namespace } : {});
    for (const dep of items) {
      const refs = dep.metadata.ownerReferences ?? [];
      if (!refs.some((r: OwnerReference) => r.uid === uid)) continue;
      const next = structuredClone(dep);
      next.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      await ctx.store.update(rt.key, next);
    }
  }
}

export async function deleteObject(ctx: ApiContext, t: ResourceTarget, opts: DeleteRequest, dryRun: boolean): Promise<Reply> {
  const { rt } = t;
  const pre = opts.preconditions ?? {};
  if (dryRun || opts.propagationPolicy === 'Orphan') {
    const current = await ctx.store.get(rt.key, t.namespace, t.name!);
    if (pre.uid && pre.uid !== current.metadata.uid) {
      throw new Conflict(`Operation cannot be fulfilled on ${rt.key} "${t.name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw new Conflict(`Operation cannot be fulfilled on ${rt.key} "${t.name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    if (dryRun) {
      const pending = (current.metadata.finalizers?.length ?? 0) > 0 && !current.metadata.deletionTimestamp;
      if (pending) current.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return { code: 200, body: current };
    }
    await orphanDependents(ctx, current);
  }
  // Foreground is served as Background: the garbage collector deletes dependents afterwards either way.
  const deleted = await ctx.store.delete(rt.key, t.namespace, t.name!, { uid: pre.uid, resourceVersion: pre.resourceVersion });
  return { code: 200, body: deleted };
}

export async function deleteCollection(ctx: ApiContext, t: ResourceTarget, query: Record<string, unknown>, dryRun: boolean): Promise<Reply> {
  const { rt } = t;
  const { items } = await ctx.store.list(rt.key, { ...listOptions(t, query), limit: undefined, continue: undefined });
  const deleted: KubeObject[] = [];
  for (const obj of items) {
    if (dryRun) {
      deleted.push(obj);
      continue;
    }
    try {
      deleted.push(await ctx.store.delete(rt.key, obj.metadata.namespace, obj.metadata.name));
    } catch (e) {
      if (!isApiError(e, 404)) throw e; // deleted meanwhile: fine
    }
  }
  const list: KubeList = { apiVersion: rt.apiVersion, kind: rt.listKind, metadata: { resourceVersion: await ctx.store.revision() }, items: deleted };
  return { code: 200, body: list };
}

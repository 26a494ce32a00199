// PATCH with `application/apply-patch+yaml` (kubectl apply --server-side): create the object when missing,
// else merge the manager's intent field by field, with conflicts against other managers (api/managed-fields.ts).
import { BadRequest, isApiError } from '../core/errors.ts';
import type { KubeObject } from '../core/types.ts';
import { admit, incomingObject } from './admission.ts';
import type { ApiContext } from './context.ts';
import { applyEntry, applyToObject } from './managed-fields.ts';
import type { ManagedFieldsEntry, ManagerRef } from './managed-fields.ts';
import { createObject, patchWithRetry } from './object-handlers.ts';
import type { Reply } from './object-handlers.ts';
import type { ResourceTarget } from './resource-path.ts';

export interface ApplyOptions {
  fieldManager?: string;
  force: boolean;
  dryRun: boolean;
}

export const MAX_FIELD_MANAGER_LENGTH = 128;

/** `?fieldManager=`: at most 128 printable characters, as Kubernetes requires. */
export function fieldManagerOf(query: Record<string, unknown>): string | undefined {
  const v = query.fieldManager;
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > MAX_FIELD_MANAGER_LENGTH || !/^[\x20-\x7e]+$/.test(v)) {
    throw new BadRequest(`fieldManager must be at most ${MAX_FIELD_MANAGER_LENGTH} printable ASCII characters, got ${JSON.stringify(String(v).slice(0, 140))}`);
  }
  return v;
}

export function forceOf(query: Record<string, unknown>): boolean {
  const v = query.force;
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new BadRequest(`force must be true or false, got ${JSON.stringify(v)}`);
}

export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Let the one create of this request store these managedFields (createObject strips what a client sends). */
function creatingWith(ctx: ApiContext, rtKey: string, managedFields: ManagedFieldsEntry[]): ApiContext {
  const inner = ctx.store;
  const store = Object.assign(Object.create(inner) as typeof inner, {
    create: (key: string, obj: KubeObject) => inner.create(key, key === rtKey ? { ...obj, metadata: { ...obj.metadata, managedFields } } : obj),
  });
  return { ...ctx, store };
}

export async function serverSideApply(ctx: ApiContext, t: ResourceTarget, body: unknown, opts: ApplyOptions): Promise<Reply> {
  const { rt } = t;
  if (t.subresource) throw new BadRequest(`server-side apply to the ${t.subresource} subresource is not supported: apply the ${rt.kind} itself`);
  if (!opts.fieldManager) {
    throw new BadRequest('PATCH with application/apply-patch+yaml must name its field manager: add ?fieldManager=NAME (kubectl apply --server-side sends "kubectl")');
  }
  const applied = incomingObject(t, body);
  delete applied.status;
  const precondition = applied.metadata.resourceVersion;
  const who: ManagerRef = { manager: opts.fieldManager, apiVersion: rt.apiVersion, time: nowRfc3339() };

  const exists = await ctx.store.get(rt.key, t.namespace, t.name!).then(() => true, (e: unknown) => {
    if (isApiError(e, 404)) return false;
    throw e;
  });
  if (!exists) {
    return createObject(creatingWith(ctx, rt.key, applyEntry(applied, who)), t, applied, opts.dryRun);
  }
  const updated = await patchWithRetry(ctx, t, opts.dryRun, async (current) => {
    const { object, managedFields } = applyToObject(current, applied, { ...who, force: opts.force }, { group: rt.group, kind: rt.kind });
    object.metadata.managedFields = managedFields;
    const rv = precondition ?? current.metadata.resourceVersion;
    const admitted = await admit(ctx, rt, object);
    admitted.metadata.resourceVersion = rv;
    return admitted;
  });
  return { code: 200, body: updated };
}

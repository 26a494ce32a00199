// What the API checks before the validator: the body names the URL's resource, namespace and name.
import { BadRequest, NotFound, isApiError } from '../core/errors.ts';
import { isPlainObject } from '../core/patch.ts';
import type { ResourceType } from '../core/resources.ts';
import type { Store } from '../core/store.ts';
import type { KubeObject } from '../core/types.ts';
import { invalidError } from '../core/validation.ts';
import type { ApiContext } from './context.ts';
import { hostPathCauses, usesHostPath } from './host-path-policy.ts';
import { scrubEventMessage } from './secret-redaction.ts';
import type { ResourceTarget } from './resource-path.ts';

/** What admission reads: the validator, the registry and stored objects (a Container's Cluster, an Event's object). */
export type AdmissionContext = Pick<ApiContext, 'validator' | 'registry'> & { store: Pick<Store, 'get'> };

/**
 * Admission of an object written by something inside the manager (the GitOps controller) rather than through
 * the API: the same checks as a create or update there — the Cluster must exist, then admit() — so nothing
 * the API would refuse gets in another way.
 */
export function objectAdmission(ctx: AdmissionContext): (rt: ResourceType, obj: KubeObject) => Promise<KubeObject> {
  return async (rt, obj) => {
    if (rt.namespaced && obj.metadata.namespace) await requireCluster(ctx, obj.metadata.namespace);
    return admit(ctx, rt, obj);
  };
}

/**
 * The body of a create/replace: kind and apiVersion must match the URL's resource (filled in when
 * absent), the path namespace wins (a different one is a 400), cluster-scoped objects have none.
 */
export function incomingObject(t: ResourceTarget, body: unknown): KubeObject {
  const { rt } = t;
  if (!isPlainObject(body)) throw new BadRequest(`request body must be a JSON object (a ${rt.kind})`);
  const obj = structuredClone(body) as KubeObject;
  if (obj.kind !== undefined && obj.kind !== rt.kind) {
    throw new BadRequest(`the kind of the provided object ("${String(obj.kind)}") does not match the resource ${rt.plural}.${rt.group} (kind "${rt.kind}")`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== rt.apiVersion) {
    throw new BadRequest(`the apiVersion of the provided object ("${String(obj.apiVersion)}") does not match the request (want "${rt.apiVersion}")`);
  }
  obj.kind = rt.kind;
  obj.apiVersion = rt.apiVersion;
  if (obj.metadata === undefined) obj.metadata = { name: '' };
  if (!isPlainObject(obj.metadata)) throw new BadRequest('metadata must be an object');
  const m = obj.metadata;
  if (rt.namespaced) {
    if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== t.namespace) {
      throw new BadRequest(`the namespace of the provided object ("${m.namespace}") does not match the namespace sent on the request ("${t.namespace}")`);
    }
    m.namespace = t.namespace;
  } else {
    delete m.namespace;
  }
  if (t.name !== undefined) {
    if (m.name !== undefined && m.name !== '' && m.name !== t.name) {
      throw new BadRequest(`the name of the object ("${m.name}") does not match the name on the URL ("${t.name}")`);
    }
    m.name = t.name;
  }
  return obj;
}

/**
 * The validator defaults and checks everything (metadata included) and reports every bad field in one
 * Invalid; then the policies that need other objects: hostPath volumes against the Container's Cluster,
 * and secret env values scrubbed from Event messages.
 */
export async function admit(ctx: AdmissionContext, rt: ResourceType, obj: KubeObject, subresource?: 'status'): Promise<KubeObject> {
  const admitted = await ctx.validator.admit(rt, obj, subresource ? { subresource } : {});
  if (rt.kind === 'Container' && !subresource && usesHostPath(admitted)) {
    const causes = hostPathCauses(admitted, await clusterOf(ctx, admitted.metadata.namespace));
    if (causes.length) throw invalidError(rt, admitted, causes);
  }
  if (rt.kind === 'Event') await scrubEventMessage(ctx, admitted);
  return admitted;
}

async function clusterOf(ctx: AdmissionContext, namespace: string | undefined): Promise<KubeObject | undefined> {
  const clusterRt = ctx.registry.resolve('Cluster');
  if (!clusterRt || !namespace) return undefined;
  return ctx.store.get(clusterRt.key, undefined, namespace).catch((e: unknown) => {
    if (isApiError(e, 404)) return undefined;
    throw e;
  });
}

/** Namespaced objects live in a Cluster: refuse to create one in a Cluster that does not exist. */
export async function requireCluster(ctx: AdmissionContext, namespace: string): Promise<void> {
  const clusterRt = ctx.registry.resolve('Cluster');
  if (!clusterRt) return;
  try {
    await ctx.store.get(clusterRt.key, undefined, namespace);
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
    throw new NotFound(`cluster "${namespace}" not found: create the Cluster first (namespaces are Clusters)`, {
      name: namespace, group: clusterRt.group, kind: clusterRt.plural,
    }, { cause: e });
  }
}

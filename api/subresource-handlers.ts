// `/status` (writes change only status) and `/scale` (an autoscaling/v1 Scale view of the replicas).
import { BadRequest, Invalid } from '../core/errors.ts';
import { isPlainObject } from '../core/patch.ts';
import type { ResourceType, ScaleSubresource } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { admit, incomingObject } from './admission.ts';
import type { ApiContext } from './context.ts';
import { applyPatch, patchWithRetry } from './object-handlers.ts';
import type { Reply } from './object-handlers.ts';
import type { PatchType } from './request-body.ts';
import type { ResourceTarget } from './resource-path.ts';

/** Everything but status comes from the stored object, as Kubernetes' status subresource does. */
function withStatus(current: KubeObject, status: unknown, resourceVersion: string | undefined): KubeObject {
  const next = structuredClone(current);
  if (status === undefined || status === null) delete next.status;
  else next.status = status as Record<string, unknown>;
  stampHeartbeat(current, next);
  if (resourceVersion) next.metadata.resourceVersion = resourceVersion;
  else delete next.metadata.resourceVersion;
  return next;
}

/**
 * A Node heartbeat is timed by the manager's clock, not the node's: failure detection and the fencing
 * deadlines compare it with the manager's now, so a node whose clock runs behind must not look fresher.
 */
function stampHeartbeat(current: KubeObject, next: KubeObject): void {
  if (current.kind !== 'Node' || !next.status?.lastHeartbeatTime) return;
  if (next.status.lastHeartbeatTime === current.status?.lastHeartbeatTime) return;
  // only a heartbeat that is one: a malformed value is left for validation to refuse
  const sent = next.status.lastHeartbeatTime;
  if (typeof sent !== 'string' || Number.isNaN(Date.parse(sent))) return;
  next.status.lastHeartbeatTime = new Date().toISOString();
}

async function admitStatus(ctx: ApiContext, rt: ResourceType, next: KubeObject): Promise<KubeObject> {
  const rv = next.metadata.resourceVersion;
  const admitted = await admit(ctx, rt, next, 'status');
  if (rv) admitted.metadata.resourceVersion = rv;
  else delete admitted.metadata.resourceVersion;
  return admitted;
}

export async function replaceStatus(ctx: ApiContext, t: ResourceTarget, body: unknown, dryRun: boolean): Promise<Reply> {
  const incoming = incomingObject(t, body);
  const updated = await patchWithRetry(ctx, t, dryRun, (current) =>
    admitStatus(ctx, t.rt, withStatus(current, incoming.status, incoming.metadata.resourceVersion ?? current.metadata.resourceVersion)));
  return { code: 200, body: updated };
}

export async function patchStatus(ctx: ApiContext, t: ResourceTarget, type: PatchType, patch: unknown, dryRun: boolean): Promise<Reply> {
  const updated = await patchWithRetry(ctx, t, dryRun, (current) => {
    const patched = applyPatch(current, type, patch);
    if (!isPlainObject(patched)) throw new BadRequest('the patch must leave an object');
    const rv = (patched.metadata as KubeObject['metadata'] | undefined)?.resourceVersion;
    return admitStatus(ctx, t.rt, withStatus(current, patched.status, rv ?? current.metadata.resourceVersion));
  });
  return { code: 200, body: updated };
}

// ---- scale ----

function pathOf(jsonPath: string): string[] {
  return jsonPath.replace(/^\./, '').split('.').filter((s) => s !== '');
}

function getPath(obj: unknown, jsonPath: string): unknown {
  let cur: unknown = obj;
  for (const k of pathOf(jsonPath)) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

function setPath(obj: Record<string, unknown>, jsonPath: string, value: unknown): void {
  const keys = pathOf(jsonPath);
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

export interface Scale {
  apiVersion: 'autoscaling/v1';
  kind: 'Scale';
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string };
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}

export function toScale(scale: ScaleSubresource, obj: KubeObject): Scale {
  const m = obj.metadata;
  const selector = scale.labelSelectorPath ? getPath(obj, scale.labelSelectorPath) : undefined;
  return {
    apiVersion: 'autoscaling/v1', kind: 'Scale',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: Number(getPath(obj, scale.specReplicasPath) ?? 0) },
    status: { replicas: Number(getPath(obj, scale.statusReplicasPath) ?? 0), ...(typeof selector === 'string' ? { selector } : {}) },
  };
}

function scaleOf(t: ResourceTarget): ScaleSubresource {
  return t.rt.scale!;
}

/** Apply a (patched or replaced) Scale's spec.replicas to the object. */
async function applyScale(ctx: ApiContext, t: ResourceTarget, current: KubeObject, scale: unknown): Promise<KubeObject> {
  const { rt } = t;
  if (!isPlainObject(scale)) throw new BadRequest('request body must be a JSON object (an autoscaling/v1 Scale)');
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw new BadRequest(`kind must be "Scale", got "${String(scale.kind)}"`);
  const replicas = isPlainObject(scale.spec) ? scale.spec.replicas : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    const cause = { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer` };
    throw new Invalid(`Scale.autoscaling "${t.name}" is invalid: [spec.replicas: ${cause.message}]`, { name: t.name, group: 'autoscaling', kind: 'Scale', causes: [cause] });
  }
  const meta = isPlainObject(scale.metadata) ? scale.metadata : {};
  const next = structuredClone(current);
  setPath(next as unknown as Record<string, unknown>, scaleOf(t).specReplicasPath, replicas);
  const rv = typeof meta.resourceVersion === 'string' && meta.resourceVersion ? meta.resourceVersion : current.metadata.resourceVersion;
  next.metadata.resourceVersion = rv;
  const admitted = await admit(ctx, rt, next);
  admitted.metadata.resourceVersion = rv;
  return admitted;
}

export async function getScale(ctx: ApiContext, t: ResourceTarget): Promise<Reply> {
  return { code: 200, body: toScale(scaleOf(t), await ctx.store.get(t.rt.key, t.namespace, t.name!)) };
}

export async function replaceScale(ctx: ApiContext, t: ResourceTarget, body: unknown, dryRun: boolean): Promise<Reply> {
  const updated = await patchWithRetry(ctx, t, dryRun, (current) => applyScale(ctx, t, current, body));
  return { code: 200, body: toScale(scaleOf(t), updated) };
}

export async function patchScale(ctx: ApiContext, t: ResourceTarget, type: PatchType, patch: unknown, dryRun: boolean): Promise<Reply> {
  const updated = await patchWithRetry(ctx, t, dryRun, (current) =>
    applyScale(ctx, t, current, applyPatch(toScale(scaleOf(t), current), type, patch)));
  return { code: 200, body: toScale(scaleOf(t), updated) };
}

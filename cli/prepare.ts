// Manifests → objects ready to send: kind resolved, validated locally against the CRDs, namespace set,
// last-applied annotation added. Every problem of every document is reported before anything is sent.
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';
import { createValidator } from '../core/validation.ts';
import { withLastApplied } from '../core/last-applied.ts';
import { withMembership } from '../core/apply-set.ts';
import { kindRank, refName } from './kinds.ts';
import { causeLine } from './manifests.ts';
import type { LoadedDoc } from './manifests.ts';

export { LAST_APPLIED, lastAppliedOf, withLastApplied } from '../core/last-applied.ts';

export interface PreparedObject {
  source: LoadedDoc;
  rt: ResourceType;
  /** What is sent: the manifest with namespace and the last-applied annotation. */
  desired: KubeObject;
  namespace: string | undefined;
  name: string;
  /** `agentdeployment.drover.dev/trading` */
  ref: string;
}

export interface PrepareOptions {
  /** Namespace for documents without one (`-n`, else the context's, else `default`). */
  namespace: string;
  /** `-n` was given: a document naming another namespace is an error, as in kubectl. */
  namespaceFromFlag: boolean;
  /** Skip the local schema check (delete -f needs only kind and name). */
  validate?: boolean;
  /** `--applyset`: label every object as a member of this set (before the last-applied record is made). */
  applySetId?: string;
}

export function prepareObjects(docs: LoadedDoc[], registry: ResourceRegistry, opts: PrepareOptions): { objects: PreparedObject[]; errors: string[] } {
  const validator = opts.validate === false ? undefined : createValidator(registry);
  const objects: PreparedObject[] = [];
  const errors: string[] = [];
  for (const source of docs) {
    const bad = (cause: Omit<StatusCause, 'reason'> & { reason?: string }) =>
      errors.push(causeLine(source.doc, { reason: cause.reason ?? 'FieldValueInvalid', field: cause.field, message: cause.message }));
    const obj = source.object;
    if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) { bad({ field: 'apiVersion', reason: 'FieldValueRequired', message: 'Required value' }); continue; }
    if (typeof obj.kind !== 'string' || !obj.kind) { bad({ field: 'kind', reason: 'FieldValueRequired', message: 'Required value' }); continue; }
    const rt = registry.byApiVersionKind(obj.apiVersion, obj.kind);
    if (!rt) {
      bad({ field: 'kind', reason: 'FieldValueNotSupported', message: `no kind "${obj.kind}" is registered for version "${obj.apiVersion}"` });
      continue;
    }
    const meta = (obj.metadata ?? {}) as KubeObject['metadata'];
    if (typeof meta.name !== 'string' || !meta.name) { bad({ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value' }); continue; }

    let namespace: string | undefined;
    if (rt.namespaced) {
      namespace = meta.namespace ?? opts.namespace;
      if (meta.namespace && opts.namespaceFromFlag && meta.namespace !== opts.namespace) {
        bad({ field: 'metadata.namespace', message: `the namespace from the provided object "${meta.namespace}" does not match the namespace "${opts.namespace}" given with -n` });
        continue;
      }
    }
    const manifest = structuredClone(obj);
    manifest.metadata = { ...meta };
    if (rt.namespaced) manifest.metadata.namespace = namespace;
    else delete manifest.metadata.namespace; // cluster-scoped: a namespace would be meaningless

    if (validator) {
      const { causes } = validator.check(rt, manifest);
      if (causes.length) { for (const c of causes) bad(c); continue; }
    }
    const member = opts.applySetId ? withMembership(manifest, opts.applySetId) : manifest;
    objects.push({ source, rt, desired: withLastApplied(member), namespace, name: meta.name, ref: refName(rt, meta.name) });
  }
  return { objects, errors };
}

/** Stable sort by kind: Cluster, Node, Container, AgentDeployment, Agent, Task, Event. */
export function orderForApply<T extends { rt: ResourceType }>(objects: T[]): T[] {
  return objects.map((o, i) => ({ o, i })).sort((a, b) => kindRank(a.o.rt.kind) - kindRank(b.o.rt.kind) || a.i - b.i).map((x) => x.o);
}

// One revision of a GitRepository → the objects it declares, or every reason it cannot be applied, each at its
// file:line:column. Pure: the files come in as text; schema validation and admission run afterwards in the
// controller (the same admission as API writes), and their causes are located with the same documents.
import { APPLYSET_PART_OF_LABEL, memberKey, type MemberRef } from '../core/apply-set.ts';
import { kindRank } from '../core/kind-order.ts';
import { isPlainObject } from '../core/patch.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';
import { formatCause, parseManifests, type ManifestDoc } from '../core/yaml-io.ts';

/** Metadata the server owns; a manifest that carries them (an exported object) has them dropped, as on create. */
const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields'] as const;

export interface RevisionFile {
  /** Relative to the repository root, as messages show it. */
  path: string;
  text: string;
}

export interface DesiredMember {
  rt: ResourceType;
  ref: MemberRef;
  /** The manifest as written, with the namespace and the membership label set and any status dropped. */
  manifest: KubeObject;
  /** Where it came from: locates validation causes (`apps/web.yaml:12:5`). */
  doc: ManifestDoc;
}

export interface RevisionContent {
  members: DesiredMember[];
  errors: string[];
}

export interface RevisionContext {
  registry: ResourceRegistry;
  /** The GitRepository's namespace: the only one its objects may live in. */
  namespace: string;
  /** The apply set id members are labelled with. */
  setId: string;
}

/** `file:line:col: field: message` for a cause found in `doc`. */
export function causeAt(doc: ManifestDoc, cause: Omit<StatusCause, 'reason'> & { reason?: string }): string {
  return formatCause(doc, { reason: cause.reason ?? 'FieldValueInvalid', field: cause.field, message: cause.message });
}

/** Parse every file and check what needs no server: kinds, scope, namespace, names, membership, duplicates. */
export function readRevision(files: RevisionFile[], ctx: RevisionContext): RevisionContent {
  const members: DesiredMember[] = [];
  const errors: string[] = [];
  const firstAt = new Map<string, ManifestDoc>();
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    let docs: ManifestDoc[];
    try {
      docs = parseManifests(file.text, file.path);
    } catch (e) {
      const msg = (e as Error).message;
      errors.push(msg.startsWith(file.path) ? msg : `${file.path}:1:1: ${msg}`);
      continue;
    }
    for (const doc of docs) {
      const bad = (field: string, message: string) => errors.push(causeAt(doc, { field, message }));
      const obj = doc.object;
      const rt = ctx.registry.byApiVersionKind(String(obj.apiVersion), String(obj.kind));
      if (!rt) {
        bad('kind', `no kind "${String(obj.kind)}" is registered for version "${String(obj.apiVersion)}"`);
        continue;
      }
      if (!rt.namespaced) {
        bad('kind', `${rt.kind} is cluster-scoped: a GitRepository applies objects only into its own Cluster's namespace "${ctx.namespace}"`);
        continue;
      }
      if (!isPlainObject(obj.metadata)) {
        bad('metadata', 'Required value: metadata with a name');
        continue;
      }
      const meta = obj.metadata;
      if (typeof meta.name !== 'string' || meta.name === '') {
        bad('metadata.name', 'Required value');
        continue;
      }
      if (meta.namespace !== undefined && meta.namespace !== ctx.namespace) {
        bad('metadata.namespace', `Invalid value: ${JSON.stringify(meta.namespace)}: a GitRepository applies objects only into its own namespace "${ctx.namespace}" (leave it out or set it to that)`);
        continue;
      }
      const labels = isPlainObject(meta.labels) ? (meta.labels as Record<string, unknown>) : undefined;
      const claimed = labels?.[APPLYSET_PART_OF_LABEL];
      if (claimed !== undefined && claimed !== ctx.setId) {
        bad(`metadata.labels[${APPLYSET_PART_OF_LABEL}]`, `Invalid value: ${JSON.stringify(claimed)}: the repository sets this label itself (to ${ctx.setId}); leave it out`);
        continue;
      }
      const ref: MemberRef = { kind: rt.kind, namespace: ctx.namespace, name: meta.name };
      const key = memberKey(ref);
      const first = firstAt.get(key);
      if (first) {
        bad('metadata.name', `${rt.kind} "${meta.name}" is defined twice: first at ${first.file}:${first.line}`);
        continue;
      }
      firstAt.set(key, doc);
      const manifest = structuredClone(obj);
      if (rt.hasStatus) delete manifest.status; // status is observed, never applied (the API drops it on create too)
      manifest.metadata = { ...manifest.metadata, namespace: ctx.namespace, labels: { ...(labels as Record<string, string> | undefined), [APPLYSET_PART_OF_LABEL]: ctx.setId } };
      for (const f of SERVER_FIELDS) delete manifest.metadata[f]; // a manifest exported with `get -o yaml` still applies
      members.push({ rt, ref, manifest, doc });
    }
  }
  members.sort((a, b) => kindRank(a.rt.kind) - kindRank(b.rt.kind));
  return { members, errors };
}

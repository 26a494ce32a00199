// ObjectMeta checks (Kubernetes validates metadata itself, not through the CRD schema).
import { dns1123Label, dns1123Subdomain, labelValue, qualifiedName } from './names.ts';
import { childPath } from './field-path.ts';
import type { StatusCause } from './types.ts';
import { CAUSE, describeValue } from './causes.ts';

type Obj = Record<string, unknown>;

const STRING_FIELDS = ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generateName'] as const;
const INT_FIELDS = ['generation', 'deletionGracePeriodSeconds'] as const;
const KNOWN = new Set<string>([...STRING_FIELDS, ...INT_FIELDS, 'labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields']);
const OWNER_FIELDS = new Set(['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion']);
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export interface MetaRules {
  namespaced: boolean;
  /** Names that become namespaces (Cluster) must be DNS-1123 labels. */
  nameIsLabel: boolean;
}

export function validateObjectMeta(meta: unknown, rules: MetaRules): StatusCause[] {
  const causes: StatusCause[] = [];
  const invalid = (field: string, value: unknown, msg: string) =>
    causes.push({ reason: CAUSE.invalid, field, message: `Invalid value: ${describeValue(value)}: ${msg}` });
  if (meta === undefined) return [{ reason: CAUSE.required, field: 'metadata.name', message: 'Required value: name or generateName is required' }];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return [{ reason: CAUSE.typeInvalid, field: 'metadata', message: `Invalid value: ${describeValue(meta)}: must be of type object` }];
  }
  const m = meta as Obj;
  for (const k of Object.keys(m)) {
    if (!KNOWN.has(k)) causes.push({ reason: CAUSE.unknown, field: `metadata.${k}`, message: `unknown field "metadata.${k}"` });
  }
  for (const k of STRING_FIELDS) if (m[k] !== undefined && typeof m[k] !== 'string') invalid(`metadata.${k}`, m[k], 'must be of type string');
  for (const k of INT_FIELDS) {
    if (m[k] !== undefined && !(Number.isInteger(m[k]) && (m[k] as number) >= 0)) invalid(`metadata.${k}`, m[k], 'must be a non-negative integer');
  }

  if (m.name === undefined || m.name === '') {
    if (!m.generateName) causes.push({ reason: CAUSE.required, field: 'metadata.name', message: 'Required value: name or generateName is required' });
  } else if (typeof m.name === 'string') {
    for (const e of rules.nameIsLabel ? dns1123Label(m.name) : dns1123Subdomain(m.name)) invalid('metadata.name', m.name, e);
  }
  if (typeof m.generateName === 'string' && m.generateName && !m.name) {
    // generateName is a prefix: it must be valid once a random suffix is appended.
    for (const e of dns1123Subdomain(m.generateName.replace(/-$/, '') + '-x')) invalid('metadata.generateName', m.generateName, e);
  }
  if (rules.namespaced) {
    if (typeof m.namespace === 'string' && m.namespace !== '') for (const e of dns1123Label(m.namespace)) invalid('metadata.namespace', m.namespace, e);
  } else if (m.namespace !== undefined && m.namespace !== '') {
    causes.push({ reason: CAUSE.forbidden, field: 'metadata.namespace', message: 'Forbidden: not allowed on this type (it is cluster-scoped)' });
  }

  checkStringMap(m.labels, 'metadata.labels', causes, (k, v, field) => {
    for (const e of qualifiedName(k)) invalid(field, k, e);
    for (const e of labelValue(v)) invalid(field, v, e);
  });
  let annotationBytes = 0;
  checkStringMap(m.annotations, 'metadata.annotations', causes, (k, v, field) => {
    for (const e of qualifiedName(k)) invalid(field, k, e);
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  });
  if (annotationBytes > ANNOTATIONS_MAX_BYTES) {
    causes.push({ reason: CAUSE.tooLong, field: 'metadata.annotations', message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes` });
  }

  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) invalid('metadata.finalizers', m.finalizers, 'must be of type array');
    else m.finalizers.forEach((f, i) => {
      const field = `metadata.finalizers[${i}]`;
      if (typeof f !== 'string') invalid(field, f, 'must be of type string');
      else for (const e of qualifiedName(f)) invalid(field, f, e);
    });
  }
  if (m.ownerReferences !== undefined) checkOwners(m.ownerReferences, causes, invalid);
  return causes;
}

function checkStringMap(v: unknown, field: string, causes: StatusCause[], each: (k: string, v: string, field: string) => void) {
  if (v === undefined || v === null) return;
  if (typeof v !== 'object' || Array.isArray(v)) {
    causes.push({ reason: CAUSE.typeInvalid, field, message: `Invalid value: ${describeValue(v)}: must be of type object` });
    return;
  }
  for (const [k, val] of Object.entries(v as Obj)) {
    const f = childPath(field, k, true);
    if (typeof val !== 'string') causes.push({ reason: CAUSE.typeInvalid, field: f, message: `Invalid value: ${describeValue(val)}: must be of type string` });
    else each(k, val, f);
  }
}

function checkOwners(v: unknown, causes: StatusCause[], invalid: (f: string, v: unknown, m: string) => void) {
  if (!Array.isArray(v)) return invalid('metadata.ownerReferences', v, 'must be of type array');
  let controllers = 0;
  v.forEach((ref, i) => {
    const base = `metadata.ownerReferences[${i}]`;
    if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) return invalid(base, ref, 'must be of type object');
    const r = ref as Obj;
    for (const k of Object.keys(r)) if (!OWNER_FIELDS.has(k)) causes.push({ reason: CAUSE.unknown, field: `${base}.${k}`, message: `unknown field "${base}.${k}"` });
    for (const k of ['apiVersion', 'kind', 'name', 'uid']) {
      if (r[k] === undefined || r[k] === '') causes.push({ reason: CAUSE.required, field: `${base}.${k}`, message: 'Required value' });
      else if (typeof r[k] !== 'string') invalid(`${base}.${k}`, r[k], 'must be of type string');
    }
    for (const k of ['controller', 'blockOwnerDeletion']) if (r[k] !== undefined && typeof r[k] !== 'boolean') invalid(`${base}.${k}`, r[k], 'must be of type boolean');
    if (r.controller === true) controllers++;
  });
  if (controllers > 1) invalid('metadata.ownerReferences', `${controllers} controllers`, 'Only one reference can have Controller set to true');
}

// Walks over a CRD's structural schema and an object together: Kubernetes-style defaulting,
// unknown-field detection and JSON-pointer → field-path translation.
import { childPath } from './field-path.ts';

type Obj = Record<string, unknown>;
export type SchemaNode = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const props = (s: SchemaNode) => (isPlainObject(s.properties) ? (s.properties as Record<string, SchemaNode>) : undefined);
const mapValues = (s: SchemaNode) => (isPlainObject(s.additionalProperties) ? (s.additionalProperties as SchemaNode) : undefined);
const items = (s: SchemaNode) => (isPlainObject(s.items) ? (s.items as SchemaNode) : undefined);

/**
 * Fills absent fields from `default` at every depth, in place (callers pass a copy). Like
 * Kubernetes, a null in a non-nullable field counts as absent, and a defaulted object is itself
 * defaulted further.
 */
export function applyDefaults(schema: SchemaNode, value: unknown): void {
  if (isPlainObject(value)) {
    for (const [k, s] of Object.entries(props(schema) ?? {})) {
      if (value[k] === null && s.nullable !== true) delete value[k];
      if (value[k] === undefined && s.default !== undefined) value[k] = structuredClone(s.default);
      if (value[k] !== undefined) applyDefaults(s, value[k]);
    }
    const mv = mapValues(schema);
    if (mv) for (const v of Object.values(value)) applyDefaults(mv, v);
  } else if (Array.isArray(value)) {
    const it = items(schema);
    if (it) for (const v of value) applyDefaults(it, v);
  }
}

/**
 * Field paths of every field the schema does not declare (strict field validation). Below
 * `x-kubernetes-preserve-unknown-fields: true` anything goes. `skip` lists root fields checked
 * elsewhere (metadata).
 */
export function unknownFields(schema: SchemaNode, value: unknown, path = '', skip: readonly string[] = []): string[] {
  const out: string[] = [];
  walkUnknown(schema, value, path, skip, out);
  return out;
}

function walkUnknown(schema: SchemaNode, value: unknown, path: string, skip: readonly string[], out: string[]): void {
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (isPlainObject(value)) {
    if (schema['x-kubernetes-int-or-string'] === true) return; // a type error, reported by ajv
    const p = props(schema);
    const mv = mapValues(schema);
    for (const [k, v] of Object.entries(value)) {
      if (skip.includes(k) && !path) continue;
      if (p && k in p) walkUnknown(p[k], v, childPath(path, k), [], out);
      else if (mv) walkUnknown(mv, v, childPath(path, k, true), [], out);
      else if (!preserve && schema.type === 'object') out.push(childPath(path, k));
    }
  } else if (Array.isArray(value)) {
    const it = items(schema);
    if (it) value.forEach((v, i) => walkUnknown(it, v, childPath(path, i), [], out));
  }
}

/** The schema node for a field path given as segments, or undefined where the schema ends. */
export function schemaAt(schema: SchemaNode, segments: readonly (string | number)[]): SchemaNode | undefined {
  let cur: SchemaNode | undefined = schema;
  for (const seg of segments) {
    if (!cur) return undefined;
    if (typeof seg === 'number') cur = items(cur);
    else cur = props(cur)?.[seg] ?? mapValues(cur);
  }
  return cur;
}

/** ajv's `instancePath` (`/spec/ports/0/containerPort`) → `spec.ports[0].containerPort`. */
export function pointerToFieldPath(schema: SchemaNode, pointer: string): string {
  if (!pointer) return '';
  let cur: SchemaNode | undefined = schema;
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur && items(cur) && /^[0-9]+$/.test(seg)) {
      path = childPath(path, Number(seg));
      cur = items(cur);
    } else if (cur && props(cur) && seg in props(cur)!) {
      path = childPath(path, seg);
      cur = props(cur)![seg];
    } else {
      const mv: SchemaNode | undefined = cur ? mapValues(cur) : undefined;
      path = childPath(path, seg, !!mv);
      cur = mv;
    }
  }
  return path;
}

// Admission from the CRD schemas only: Kubernetes-style defaulting, strict unknown-field checks,
// ObjectMeta rules, then ajv (strict mode) for types, enums, bounds, patterns and formats.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { Invalid } from './errors.ts';
import type { ResourceRegistry, ResourceType } from './resources.ts';
import type { KubeObject, StatusCause } from './types.ts';
import { applyDefaults, isPlainObject, pointerToFieldPath, unknownFields, type SchemaNode } from './schema-walk.ts';
import { childPath } from './field-path.ts';
import { validateObjectMeta } from './object-meta-validation.ts';
import { CAUSE, describeValue } from './causes.ts';
import { QUANTITY_PATTERN } from './quantity.ts';
import { DURATION_PATTERN } from './duration.ts';

export interface Validator {
  /** Defaults then validates; returns the defaulted copy. Throws Invalid (core/errors.ts) listing EVERY bad field. */
  admit(rt: ResourceType, obj: KubeObject, opts?: { subresource?: 'status' }): KubeObject;
  /** Same checks, returning causes instead of throwing (for CLI/diff). */
  check(rt: ResourceType, obj: KubeObject): { object: KubeObject; causes: StatusCause[] };
}

/** The Kubernetes vendor keywords ajv must accept in strict mode (annotations for ajv). */
export const KUBERNETES_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
] as const;

type AddFormats = (ajv: Ajv) => Ajv;
// ajv-formats is CommonJS; its default export is the module itself under Node's ESM interop.
const addFormats = ((ajvFormats as unknown as { default?: AddFormats }).default ?? ajvFormats) as unknown as AddFormats;

export function createAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addVocabulary([...KUBERNETES_KEYWORDS]);
  ajv.addKeyword({ keyword: 'x-kubernetes-int-or-string', schemaType: 'boolean' });
  return ajv;
}

/**
 * The schema ajv compiles: identical except that int-or-string nodes say `type: [integer, string]`
 * instead of Kubernetes' `anyOf`, so their `pattern` (which applies to the string) passes strictTypes,
 * and that integers without bounds are bounded to the safe range (JSON's 1e308 is an "integer" to
 * JavaScript; Kubernetes refuses anything beyond int64 while decoding).
 */
export function toAjvSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toAjvSchema);
  if (!isPlainObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    // `default` and `enum` are values, not schemas; copy them verbatim.
    out[k] = k === 'default' || k === 'enum' ? v : toAjvSchema(v);
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.anyOf;
    out.type = ['integer', 'string'];
  }
  if (out.type === 'integer' || (Array.isArray(out.type) && out.type.includes('integer'))) {
    if (out.maximum === undefined) out.maximum = Number.MAX_SAFE_INTEGER;
    if (out.minimum === undefined) out.minimum = -Number.MAX_SAFE_INTEGER;
  }
  return out;
}

export function createValidator(registry: ResourceRegistry): Validator {
  const ajv = createAjv();
  const compiled = new Map<string, ValidateFunction>();
  const compile = (rt: ResourceType) => {
    let fn = compiled.get(rt.key);
    if (!fn) {
      fn = ajv.compile(toAjvSchema(rt.schema) as object);
      compiled.set(rt.key, fn);
    }
    return fn;
  };
  // Compile every kind up front so a bad CRD fails at start-up, not on the first request.
  for (const rt of registry.all()) compile(rt);

  const check = (rt: ResourceType, obj: KubeObject) => {
    const object = structuredClone(obj);
    applyDefaults(rt.schema, object);
    const causes: StatusCause[] = [...identityCauses(rt, object), ...validateObjectMeta(object.metadata, {
      namespaced: rt.namespaced, nameIsLabel: rt.kind === 'Cluster',
    })];
    for (const field of unknownFields(rt.schema, object, '', ['metadata'])) {
      causes.push({ reason: CAUSE.unknown, field, message: `unknown field "${field}"` });
    }
    const validate = compile(rt);
    if (!validate(object)) causes.push(...ajvCauses(rt.schema, validate.errors ?? [], object));
    return { object, causes };
  };

  return {
    check,
    // The status subresource validates the whole object as well; the API decides which part it keeps.
    admit(rt, obj, _opts) {
      const { object, causes } = check(rt, obj);
      if (causes.length) throw invalidError(rt, obj, causes);
      return object;
    },
  };
}

/** `AgentDeployment.drover.dev "trading" is invalid: [spec.replicas: Invalid value: -1: ..., ...]` */
export function invalidError(rt: ResourceType, obj: KubeObject, allCauses: StatusCause[]): Invalid {
  const name = typeof obj?.metadata?.name === 'string' ? obj.metadata.name : '';
  // 100,000 bad array items are 100,000 causes: report the first ones and how many more there are
  const causes = allCauses.slice(0, MAX_REPORTED_CAUSES);
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  if (allCauses.length > causes.length) parts.push(`and ${allCauses.length - causes.length} more problems`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new Invalid(`${rt.kind}.${rt.group} "${name}" is invalid: ${list}`, { name, group: rt.group, kind: rt.kind, causes });
}

/** Causes an Invalid error lists at most. */
export const MAX_REPORTED_CAUSES = 100;

function identityCauses(rt: ResourceType, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const want = { apiVersion: rt.apiVersion, kind: rt.kind } as const;
  for (const k of ['apiVersion', 'kind'] as const) {
    if (obj[k] === undefined || obj[k] === '') causes.push({ reason: CAUSE.required, field: k, message: 'Required value' });
    else if (obj[k] !== want[k]) causes.push({ reason: CAUSE.invalid, field: k, message: `Invalid value: ${describeValue(obj[k])}: must be ${want[k]}` });
  }
  return causes;
}

function ajvCauses(schema: SchemaNode, errors: ErrorObject[], object: unknown): StatusCause[] {
  const causes: StatusCause[] = [];
  const typeErrorAt = new Set<string>();
  for (const e of errors) if (e.keyword === 'type') typeErrorAt.add(e.instancePath);
  const seen = new Set<string>();
  for (const e of errors) {
    // metadata is checked by validateObjectMeta with Kubernetes' own rules.
    if (e.instancePath === '/metadata' || e.instancePath.startsWith('/metadata/')) continue;
    if (e.keyword !== 'type' && typeErrorAt.has(e.instancePath)) continue;
    const cause = toCause(schema, e, valueAt(object, e.instancePath));
    const key = `${cause.field}\u0000${cause.message}`;
    if (!seen.has(key)) { seen.add(key); causes.push(cause); }
  }
  return causes;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur = obj;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = (cur as Record<string, unknown> | undefined)?.[seg];
  }
  return cur;
}

function toCause(schema: SchemaNode, e: ErrorObject, value: unknown): StatusCause {
  const field = pointerToFieldPath(schema, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const v = describeValue(value);
  const invalid = (msg: string): StatusCause => ({ reason: CAUSE.invalid, field, message: `Invalid value: ${v}: ${msg}` });
  switch (e.keyword) {
    case 'required':
      return { reason: CAUSE.required, field: childPath(field, String(p.missingProperty)), message: 'Required value' };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((a) => JSON.stringify(a)).join(', ');
      return { reason: CAUSE.notSupported, field, message: `Unsupported value: ${v}: supported values: ${allowed}` };
    }
    case 'type': {
      const t = Array.isArray(p.type) ? 'integer or string' : String(p.type);
      return { reason: CAUSE.typeInvalid, field, message: `Invalid value: ${v}: must be of type ${t}` };
    }
    case 'minimum': return invalid(`must be greater than or equal to ${String(p.limit)}`);
    case 'maximum': return invalid(`must be less than or equal to ${String(p.limit)}`);
    case 'exclusiveMinimum': return invalid(`must be greater than ${String(p.limit)}`);
    case 'exclusiveMaximum': return invalid(`must be less than ${String(p.limit)}`);
    case 'minLength': return invalid(`must be at least ${String(p.limit)} characters long`);
    case 'maxLength': return { reason: CAUSE.tooLong, field, message: `Too long: may not be longer than ${String(p.limit)}` };
    case 'minItems': return invalid(`must have at least ${String(p.limit)} items`);
    case 'maxItems': return { reason: CAUSE.tooMany, field, message: `Too many: ${Array.isArray(value) ? value.length : '?'}: must have at most ${String(p.limit)} items` };
    case 'pattern': return invalid(patternMessage(String(p.pattern)));
    case 'format':
      return invalid(p.format === 'date-time' ? 'must be an RFC 3339 date-time, e.g. 2026-01-02T15:04:05Z' : `must be a valid ${String(p.format)}`);
    default: return invalid(e.message ?? `fails ${e.keyword}`);
  }
}

function patternMessage(pattern: string): string {
  if (pattern === QUANTITY_PATTERN) return 'must be a quantity such as 500m, 2, 256Mi or 1Gi';
  if (pattern === DURATION_PATTERN) return 'must be a duration such as 2s, 5m or 1h30m';
  if (pattern === '^[0-9]+%?$') return 'must be a number or a percentage such as 25%';
  return `must match the regular expression '${pattern}'`;
}

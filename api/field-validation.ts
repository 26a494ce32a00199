// `?fieldValidation=Strict|Warn|Ignore` on create, update, patch and apply. Strict (drover's default, and what
// kubectl sends unless --validate=warn|ignore) refuses unknown fields with a 422 naming each one; Warn drops them
// and says so in `Warning: 299 - "unknown field \"spec.foo\""` headers; Ignore drops them silently.
import { BadRequest } from '../core/errors.ts';
import { childPath } from '../core/field-path.ts';
import type { ResourceType } from '../core/resources.ts';
import { isPlainObject, type SchemaNode } from '../core/schema-walk.ts';
import type { KubeObject } from '../core/types.ts';
import type { ApiContext, Validator } from './context.ts';

export const FieldValidationModes = ['Strict', 'Warn', 'Ignore'] as const;
export type FieldValidation = (typeof FieldValidationModes)[number];

export function fieldValidationOf(query: Record<string, unknown>): FieldValidation {
  const v = query.fieldValidation;
  if (v === undefined || v === '') return 'Strict';
  if (typeof v === 'string' && (FieldValidationModes as readonly string[]).includes(v)) return v as FieldValidation;
  throw new BadRequest(`fieldValidation must be one of ${FieldValidationModes.join(', ')}, got ${JSON.stringify(v)}`);
}

const KNOWN_METADATA = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generateName', 'generation',
  'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields',
]);

const props = (s: SchemaNode) => (isPlainObject(s.properties) ? (s.properties as Record<string, SchemaNode>) : undefined);
const mapValues = (s: SchemaNode) => (isPlainObject(s.additionalProperties) ? (s.additionalProperties as SchemaNode) : undefined);

function prune(schema: SchemaNode, value: unknown, path: string, out: string[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && !props(schema) && !mapValues(schema)) return;
  if (isPlainObject(value)) {
    if (schema['x-kubernetes-int-or-string'] === true) return;
    const p = props(schema);
    const mv = mapValues(schema);
    for (const [k, v] of Object.entries(value)) {
      if (p && k in p) prune(p[k], v, childPath(path, k), out);
      else if (mv) prune(mv, v, childPath(path, k, true), out);
      else if (schema['x-kubernetes-preserve-unknown-fields'] !== true && schema.type === 'object') {
        out.push(childPath(path, k));
        delete value[k];
      }
    }
  } else if (Array.isArray(value) && isPlainObject(schema.items)) {
    value.forEach((v, i) => prune(schema.items as SchemaNode, v, childPath(path, i), out));
  }
}

/** Remove, in place, every field the kind's schema does not declare; returns their paths (`spec.foo`, `metadata.bar`). */
export function pruneUnknownFields(rt: ResourceType, obj: KubeObject): string[] {
  const out: string[] = [];
  const meta = obj.metadata as unknown;
  if (isPlainObject(meta)) {
    for (const k of Object.keys(meta)) {
      if (!KNOWN_METADATA.has(k)) {
        out.push(`metadata.${k}`);
        delete meta[k];
      }
    }
  }
  const schemaProps = props(rt.schema) ?? {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
    if (k in schemaProps) prune(schemaProps[k], v, k, out);
    else if (rt.schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.push(k);
      delete obj[k];
    }
  }
  return out;
}

/** The context with a validator that drops unknown fields first (Warn, Ignore); Strict leaves it as it is. */
export function withFieldValidation(ctx: ApiContext, mode: FieldValidation, warn: (message: string) => void): ApiContext {
  if (mode === 'Strict') return ctx;
  const inner = ctx.validator;
  const validator: Validator = {
    admit(rt, obj, opts) {
      const copy = structuredClone(obj);
      for (const path of pruneUnknownFields(rt, copy)) if (mode === 'Warn') warn(`unknown field "${path}"`);
      return inner.admit(rt, copy, opts);
    },
  };
  return { ...ctx, validator };
}

// Structural comparison of stored objects: no-op detection and the generation rule.
import type { KubeObject } from '../core/types.ts';

/** Deep equality of JSON values, independent of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** What generation tracks: `spec`, or for kinds without spec (Event) everything outside metadata/status. */
function desiredPart(obj: KubeObject): unknown {
  if (obj.spec !== undefined) return obj.spec;
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

export function desiredChanged(before: KubeObject, after: KubeObject): boolean {
  return !jsonEqual(desiredPart(before), desiredPart(after));
}

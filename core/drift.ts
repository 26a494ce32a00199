// Drift: what a manifest sets that the live object no longer has. Only fields the manifest sets count (a field
// it leaves to the server or to other writers is never drift); lists compare whole, as merge patches replace them.
import { childPath } from './field-path.ts';
import { LAST_APPLIED } from './last-applied.ts';
import { deepEqual, isPlainObject } from './patch.ts';
import type { KubeObject } from './types.ts';

const IDENTITY = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/**
 * Field paths (`spec.replicas`, `metadata.labels[tier]`) where `live` differs from what `manifest` sets.
 * `defaulted` is the manifest after the CRD defaults, so a list item the server completed (ports[].protocol)
 * still compares equal.
 */
export function driftedFields(manifest: KubeObject, defaulted: KubeObject, live: KubeObject): string[] {
  const out: string[] = [];
  for (const [k, m] of Object.entries(manifest)) {
    if (IDENTITY.has(k) || m === undefined) continue;
    compare(m, (defaulted as Record<string, unknown>)[k], (live as Record<string, unknown>)[k], k, out);
  }
  for (const part of ['labels', 'annotations'] as const) {
    const want = manifest.metadata?.[part] ?? {};
    const have = live.metadata?.[part] ?? {};
    for (const [k, v] of Object.entries(want)) {
      if (k === LAST_APPLIED) continue;
      if (have[k] !== v) out.push(childPath(`metadata.${part}`, k, true));
    }
  }
  return out;
}

function compare(m: unknown, d: unknown, l: unknown, path: string, out: string[]): void {
  if (m === null) {
    // null in a manifest means "unset"
    if (l !== undefined && l !== null) out.push(path);
    return;
  }
  if (isPlainObject(m) && isPlainObject(l)) {
    const dd = isPlainObject(d) ? d : m;
    for (const [k, mv] of Object.entries(m)) {
      if (mv === undefined) continue;
      compare(mv, dd[k], l[k], childPath(path, k), out);
    }
    return;
  }
  if (!deepEqual(d === undefined ? m : d, l)) out.push(path);
}

/**
 * True when writing `next` would store nothing new over `live`: everything but status and server-kept
 * metadata is equal, labels and annotations included.
 */
export function sameDesiredState(next: KubeObject, live: KubeObject): boolean {
  const { status: _a, metadata: m1, ...rest1 } = next;
  const { status: _b, metadata: m2, ...rest2 } = live;
  return deepEqual(rest1, rest2) && deepEqual(m1.labels ?? {}, m2.labels ?? {}) && deepEqual(m1.annotations ?? {}, m2.annotations ?? {});
}

/** Paths where two objects differ (outside status and server metadata), at most `depth` levels deep: a fallback for messages. */
export function differingPaths(a: KubeObject, b: KubeObject, depth = 3): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string, level: number) => {
    if (deepEqual(x, y)) return;
    if (level < depth && isPlainObject(x) && isPlainObject(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], childPath(path, k), level + 1);
      return;
    }
    out.push(path);
  };
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (IDENTITY.has(k)) continue;
    walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], k, 1);
  }
  for (const part of ['labels', 'annotations'] as const) {
    const x = a.metadata[part] ?? {};
    const y = b.metadata[part] ?? {};
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (k !== LAST_APPLIED && x[k] !== y[k]) out.push(childPath(`metadata.${part}`, k, true));
    }
  }
  return out;
}

// managedFields, simplified: per field manager (and operation Apply or Update) the set of field paths it set,
// stored as Kubernetes' FieldsV1 trie (`{"f:spec":{"f:replicas":{}}}`) so kubectl shows them as it would.
// Lists are atomic (owned whole), as for CRD lists without merge keys in Kubernetes. Status is not tracked.
import { Conflict } from '../core/errors.ts';
import { deepEqual, isPlainObject } from '../core/patch.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';

type Obj = Record<string, unknown>;
export type FieldPath = string[];

export const Operations = ['Apply', 'Update'] as const;
export type Operation = (typeof Operations)[number];

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
}

interface Owned {
  entry: ManagedFieldsEntry;
  paths: FieldPath[];
}

/** Metadata the server owns: never part of a manager's set. */
const SERVER_METADATA = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'generateName', 'selfLink',
]);

function leaves(v: unknown, path: FieldPath, out: FieldPath[]): void {
  if (isPlainObject(v) && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) if (child !== undefined) leaves(child, [...path, k], out);
  } else {
    out.push(path);
  }
}

/** The field paths an object sets: its leaves (scalars, lists, empty maps) outside identity, server metadata and status. */
export function fieldPaths(obj: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  if (!isPlainObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status' || v === undefined) continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SERVER_METADATA.has(mk) && mv !== undefined) leaves(mv, ['metadata', mk], out);
      continue;
    }
    leaves(v, [k], out);
  }
  return out;
}

export function toFieldsV1(paths: FieldPath[]): Obj {
  const root: Obj = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p) node = (node[`f:${seg}`] ??= {}) as Obj;
  }
  return root;
}

export function fromFieldsV1(trie: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isPlainObject(trie)) return [];
  const out: FieldPath[] = [];
  const children = Object.keys(trie).filter((k) => k.startsWith('f:'));
  if ('.' in trie || (children.length === 0 && prefix.length > 0)) out.push(prefix);
  for (const k of children) out.push(...fromFieldsV1(trie[k], [...prefix, k.slice(2)]));
  return out;
}

/** `.spec.replicas`, as Kubernetes prints a field in a conflict. */
export function formatPath(p: FieldPath): string {
  return p.map((s) => `.${s}`).join('');
}

export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function valueAt(obj: unknown, p: FieldPath): unknown {
  let cur = obj;
  for (const seg of p) cur = isPlainObject(cur) ? cur[seg] : undefined;
  return cur;
}

function setAt(obj: Obj, p: FieldPath, value: unknown): void {
  let cur = obj;
  for (const seg of p.slice(0, -1)) {
    if (!isPlainObject(cur[seg])) Object.defineProperty(cur, seg, { value: {}, enumerable: true, writable: true, configurable: true });
    cur = cur[seg] as Obj;
  }
  Object.defineProperty(cur, p[p.length - 1], { value, enumerable: true, writable: true, configurable: true });
}

/** Delete the field, then the maps it leaves empty (below the top level: spec and metadata stay). */
function deleteAt(obj: Obj, p: FieldPath): void {
  for (let n = p.length; n >= 2; n--) {
    const parent = valueAt(obj, p.slice(0, n - 1));
    if (!isPlainObject(parent)) return;
    const child = parent[p[n - 1]];
    if (n < p.length && !(isPlainObject(child) && Object.keys(child).length === 0)) return;
    delete parent[p[n - 1]];
  }
}

/** Well-formed entries only: a client may write managedFields (kubectl does when it hands client-side apply over). */
export function validEntries(raw: unknown): ManagedFieldsEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((e): e is ManagedFieldsEntry => isPlainObject(e) && typeof e.manager === 'string' && e.manager !== ''
    && (Operations as readonly unknown[]).includes(e.operation) && isPlainObject(e.fieldsV1));
}

function parseEntries(raw: unknown): Owned[] {
  return validEntries(raw).map((entry) => ({ entry: { ...entry }, paths: fromFieldsV1(entry.fieldsV1) }));
}

function sameOwner(e: ManagedFieldsEntry, manager: string, operation: Operation, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? undefined) === subresource;
}

const key = (p: FieldPath) => JSON.stringify(p);

function union(a: FieldPath[], b: FieldPath[]): FieldPath[] {
  const seen = new Set(a.map(key));
  return [...a, ...b.filter((p) => !seen.has(key(p)))];
}

function serialize(owned: Owned[]): ManagedFieldsEntry[] {
  return owned.filter((o) => o.paths.length > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.paths) }));
}

export interface ManagerRef {
  manager: string;
  apiVersion: string;
  /** RFC 3339, seconds. */
  time: string;
  subresource?: string;
}

/**
 * After an update (create, replace, patch, scale) by `who`: it owns every field whose value it changed, and
 * nobody else owns those any more. Nothing changed → the entries stay as they were (no new timestamp).
 * `base`: the entries to start from when the client wrote managedFields itself (default: the current ones).
 */
export function recordUpdate(current: KubeObject | undefined, next: KubeObject, who: ManagerRef, base?: unknown): ManagedFieldsEntry[] | undefined {
  const start = base ?? current?.metadata.managedFields;
  const owned = parseEntries(start);
  const after = fieldPaths(next);
  const changed = after.filter((p) => !deepEqual(valueAt(current, p), valueAt(next, p)));
  const removed = current ? fieldPaths(current).filter((p) => valueAt(next, p) === undefined) : [];
  if (changed.length === 0 && removed.length === 0) return base === undefined ? (start as ManagedFieldsEntry[] | undefined) : validEntries(base);
  const touched = [...changed, ...removed];
  let mine: Owned | undefined;
  for (const o of owned) {
    if (sameOwner(o.entry, who.manager, 'Update', who.subresource)) mine = o;
    else o.paths = o.paths.filter((q) => !touched.some((p) => overlaps(p, q)));
  }
  if (!mine) {
    mine = { entry: { manager: who.manager, operation: 'Update', apiVersion: who.apiVersion, time: who.time, fieldsType: 'FieldsV1', fieldsV1: {}, ...(who.subresource ? { subresource: who.subresource } : {}) }, paths: [] };
    owned.push(mine);
  }
  mine.paths = union(mine.paths.filter((q) => !removed.some((p) => overlaps(p, q))), changed);
  mine.entry = { ...mine.entry, time: who.time, apiVersion: who.apiVersion };
  return serialize(owned);
}

export interface ApplyResult {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/** A manager as the apiserver names it in a conflict: `"kubectl" with subresource "scale"`, `"kubectl" using drover.dev/v1alpha1`. */
function managerName(e: ManagedFieldsEntry): string {
  let out = JSON.stringify(e.manager);
  if (e.subresource) out += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Apply' && e.apiVersion) out += ` using ${e.apiVersion}`;
  return out;
}

/**
 * 409 worded as the apiserver does: `Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.image`,
 * or per manager (sorted) `conflicts with "M":\n- .a\n- .b`; one FieldManagerConflict cause per field.
 */
export function applyConflict(conflicts: { owner: ManagedFieldsEntry; path: FieldPath }[], name: string, group: string, kind: string): Conflict {
  const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${managerName(c.owner)}`, field: formatPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${managerName(conflicts[0].owner)}: ${formatPath(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, FieldPath[]>();
    for (const c of conflicts) {
      const who = managerName(c.owner);
      byManager.set(who, [...(byManager.get(who) ?? []), c.path]);
    }
    const lines = [...byManager.keys()].sort().flatMap((who) => [`conflicts with ${who}:`, ...byManager.get(who)!.map((p) => `- ${formatPath(p)}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new Conflict(message, { name, group, kind, causes });
}

/**
 * Server-side apply of `applied` (the manager's whole intent) onto `current`: set every field it names, remove
 * the fields it applied last time and no longer names (unless someone else owns them too), and refuse to change
 * a field another manager owns unless `force` (which takes it over). A field applied with the value it already
 * has is shared, not a conflict — as in Kubernetes.
 */
export function applyToObject(current: KubeObject, applied: KubeObject, who: ManagerRef & { force: boolean }, ids: { group: string; kind: string }): ApplyResult {
  const want = fieldPaths(applied);
  const owned = parseEntries(current.metadata.managedFields);
  const conflicts: { owner: ManagedFieldsEntry; path: FieldPath }[] = [];
  let mine: Owned | undefined;
  for (const o of owned) {
    if (sameOwner(o.entry, who.manager, 'Apply', who.subresource)) {
      mine = o;
      continue;
    }
    const lost: FieldPath[] = [];
    for (const p of want) {
      if (!o.paths.some((q) => overlaps(p, q))) continue;
      if (deepEqual(valueAt(current, p), valueAt(applied, p))) continue;
      lost.push(p);
      conflicts.push({ owner: o.entry, path: p });
    }
    if (who.force) o.paths = o.paths.filter((q) => !lost.some((p) => overlaps(p, q)));
  }
  if (conflicts.length && !who.force) {
    const real = conflicts.filter((c) => !takenFromClientSideApply(current, who.manager, c.path));
    if (real.length) throw applyConflict(real, current.metadata.name, ids.group, ids.kind);
    // every conflict is a field client-side apply set and nobody changed since: take them, as a forced apply
    return applyToObject(current, applied, { ...who, force: true }, ids);
  }

  const next = structuredClone(current) as KubeObject;
  for (const p of want) {
    const v = valueAt(applied, p);
    // an empty map says "this map exists", not "empty it"
    if (isPlainObject(v) && Object.keys(v).length === 0) {
      if (valueAt(next, p) === undefined) setAt(next as unknown as Obj, p, {});
    } else {
      setAt(next as unknown as Obj, p, structuredClone(v));
    }
  }
  const others = owned.filter((o) => o !== mine);
  for (const q of mine?.paths ?? []) {
    if (want.some((p) => overlaps(p, q))) continue;
    if (others.some((o) => o.paths.some((r) => overlaps(q, r)))) continue;
    deleteAt(next as unknown as Obj, q);
  }
  const had = new Set((mine?.paths ?? []).map(key));
  const unchanged = mine !== undefined && had.size === want.length && want.every((p) => had.has(key(p)));
  const entry: ManagedFieldsEntry = {
    manager: who.manager, operation: 'Apply', apiVersion: who.apiVersion,
    time: unchanged && mine ? mine.entry.time : who.time, fieldsType: 'FieldsV1', fieldsV1: {},
    ...(who.subresource ? { subresource: who.subresource } : {}),
  };
  const result = [...others, { entry, paths: want }];
  // keep the entries in their order: this manager's stays where it was
  if (mine) result.splice(owned.indexOf(mine), 0, result.pop()!);
  return { object: next, managedFields: serialize(result) };
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The apiserver's migration rule from client-side to server-side apply: `kubectl` (the manager of kubectl apply
 * --server-side) takes over without a conflict a field that the last-applied-configuration sets to the value
 * it still has — client-side apply owned it and no one changed it since.
 */
function takenFromClientSideApply(current: KubeObject, manager: string, p: FieldPath): boolean {
  if (manager !== 'kubectl') return false;
  const text = current.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return false;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return false; // an annotation that is not JSON grants nothing
  }
  const was = valueAt(last, p);
  return was !== undefined && deepEqual(was, valueAt(current, p));
}

/** The entry of a manager that creates the object with an apply. */
export function applyEntry(applied: KubeObject, who: ManagerRef): ManagedFieldsEntry[] {
  const paths = fieldPaths(applied);
  return paths.length
    ? [{ manager: who.manager, operation: 'Apply', apiVersion: who.apiVersion, time: who.time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths), ...(who.subresource ? { subresource: who.subresource } : {}) }]
    : [];
}

// JSON merge patch (RFC 7386), JSON patch (RFC 6902), patch creation and client-side three-way
// merge for apply. Pure functions: inputs are never mutated.
import { BadRequest, Invalid } from './errors.ts';

type Json = unknown;
type JsonObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality with JSON semantics (key order ignored, undefined-valued keys absent). */
export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

// defineProperty so a "__proto__" key from parsed JSON stays data and never swaps the prototype.
function setKey(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** RFC 7386: objects merge recursively, `null` deletes a key, anything else replaces. */
export function applyMergePatch<T = Json>(target: Json, patch: Json): T {
  if (!isPlainObject(patch)) return clone(patch) as T;
  const out: JsonObject = isPlainObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setKey(out, key, applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
  }
  return out as T;
}

/** The smallest RFC 7386 patch that turns `from` into `to` (`{}` when they are equal). */
export function createMergePatch(from: Json, to: Json): Json {
  if (!isPlainObject(from) || !isPlainObject(to)) return deepEqual(from, to) ? {} : clone(to);
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) {
    if (from[key] !== undefined && (!Object.hasOwn(to, key) || to[key] === undefined)) setKey(patch, key, null);
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const old = Object.hasOwn(from, key) ? from[key] : undefined;
    if (deepEqual(old, value)) continue;
    setKey(patch, key, isPlainObject(old) && isPlainObject(value) ? createMergePatch(old, value) : clone(value));
  }
  return patch;
}

/**
 * Client-side apply (kubectl's last-applied-configuration): keys the last apply set and the new
 * desired state drops are deleted; desired keys that differ from live are set; keys only live has
 * (status, server defaults, other writers) are left alone. Arrays are replaced whole, as merge patch does.
 */
export function createThreeWayMergePatch(lastApplied: Json, desired: Json, live: Json): JsonObject {
  const last = isPlainObject(lastApplied) ? lastApplied : {};
  const want = isPlainObject(desired) ? desired : {};
  const have = isPlainObject(live) ? live : {};
  const patch: JsonObject = {};
  for (const [key, d] of Object.entries(want)) {
    if (d === undefined) continue;
    const l = Object.hasOwn(have, key) ? have[key] : undefined;
    if (d === null) {
      // null in a manifest means "unset"
      if (l !== undefined) setKey(patch, key, null);
    } else if (isPlainObject(d) && isPlainObject(l)) {
      const sub = createThreeWayMergePatch(Object.hasOwn(last, key) ? last[key] : undefined, d, l);
      if (Object.keys(sub).length > 0) setKey(patch, key, sub);
    } else if (!deepEqual(d, l)) {
      setKey(patch, key, clone(d));
    }
  }
  for (const key of Object.keys(last)) {
    if (!Object.hasOwn(want, key) && Object.hasOwn(have, key) && have[key] !== undefined) setKey(patch, key, null);
  }
  return patch;
}

// ---- RFC 6902 ----

export const JsonPatchOps = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;
/** What `copy` operations of one patch may duplicate in total: without a bound, 30 copies of a doubling subtree are 2^30 nodes. */
export const MAX_JSON_PATCH_COPY_BYTES = 4 * 1024 * 1024;
export type JsonPatchOpName = (typeof JsonPatchOps)[number];

export interface JsonPatchOperation {
  op: JsonPatchOpName;
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6901 pointer → reference tokens (`~1` → `/`, `~0` → `~`). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer "${pointer}" must be empty or start with "/"`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`"${token}" is not an array index`);
  const i = Number(token);
  const max = forInsert ? arr.length : arr.length - 1;
  if (i > max) throw new Error(`array index ${i} is out of bounds (length ${arr.length})`);
  return i;
}

/** Walk to the container holding the last token. */
function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isPlainObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new Error('path does not exist');
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function getAt(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) return doc;
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isPlainObject(parent) && Object.hasOwn(parent, last)) return parent[last];
  throw new Error('path does not exist');
}

function addAt(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isPlainObject(parent)) setKey(parent, last, value);
  else throw new Error('parent of the path is not an object or array');
  return doc;
}

function removeAt(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) throw new Error('cannot remove the whole document');
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isPlainObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw new Error('path does not exist');
  return doc;
}

function checkOperation(raw: unknown, i: number): JsonPatchOperation {
  const where = `json patch operation ${i}`;
  if (!isPlainObject(raw)) throw new BadRequest(`${where}: must be an object`);
  const { op, path, from } = raw;
  if (typeof op !== 'string' || !(JsonPatchOps as readonly string[]).includes(op)) {
    throw new BadRequest(`${where}: unknown op ${JSON.stringify(op)} (want one of ${JsonPatchOps.join(', ')})`);
  }
  if (typeof path !== 'string') throw new BadRequest(`${where} (${op}): missing "path"`);
  if ((op === 'move' || op === 'copy') && typeof from !== 'string') throw new BadRequest(`${where} (${op} ${path}): missing "from"`);
  if ((op === 'add' || op === 'replace' || op === 'test') && !Object.hasOwn(raw, 'value')) {
    throw new BadRequest(`${where} (${op} ${path}): missing "value"`);
  }
  return raw as unknown as JsonPatchOperation;
}

/**
 * RFC 6902, all or nothing. A malformed patch is BadRequest (400); an operation that cannot apply
 * (missing path, failed `test`) is Invalid (422), as Kubernetes answers.
 */
export function applyJsonPatch<T = Json>(target: Json, ops: unknown): T {
  if (!Array.isArray(ops)) throw new BadRequest('json patch must be an array of operations');
  const checked = ops.map(checkOperation);
  let doc = clone(target);
  let copied = 0;
  checked.forEach((o, i) => {
    const where = `json patch operation ${i} (${o.op} ${o.path})`;
    let tokens: string[];
    let fromTokens: string[] = [];
    try {
      tokens = parsePointer(o.path);
      if (o.from !== undefined) fromTokens = parsePointer(o.from);
    } catch (e) {
      throw new BadRequest(`${where}: ${(e as Error).message}`, undefined, { cause: e });
    }
    try {
      switch (o.op) {
        case 'add':
          doc = addAt(doc, tokens, clone(o.value));
          break;
        case 'remove':
          doc = removeAt(doc, tokens);
          break;
        case 'replace':
          getAt(doc, tokens);
          doc = tokens.length === 0 ? clone(o.value) : addAt(removeAt(doc, tokens), tokens, clone(o.value));
          break;
        case 'move': {
          if (o.path.startsWith(o.from + '/')) throw new Error(`cannot move "${o.from}" into its own child`);
          const value = getAt(doc, fromTokens);
          if (o.path === o.from) break;
          doc = addAt(removeAt(doc, fromTokens), tokens, value);
          break;
        }
        case 'copy': {
          const value = getAt(doc, fromTokens);
          copied += JSON.stringify(value)?.length ?? 0;
          if (copied > MAX_JSON_PATCH_COPY_BYTES) throw new Error(`copy operations would duplicate more than ${MAX_JSON_PATCH_COPY_BYTES} bytes`);
          doc = addAt(doc, tokens, clone(value));
          break;
        }
        case 'test': {
          const actual = getAt(doc, tokens);
          if (!deepEqual(actual, o.value)) {
            throw new Error(`test failed: value is ${JSON.stringify(actual)}, expected ${JSON.stringify(o.value)}`);
          }
          break;
        }
      }
    } catch (e) {
      if (e instanceof BadRequest) throw e;
      throw new Invalid(`${where}: ${(e as Error).message}`, undefined, { cause: e });
    }
  });
  return doc as T;
}

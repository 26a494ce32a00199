// Multi-document YAML manifests that remember where every field came from, so validation errors
// can say `file:line:column`. Guards against YAML bombs (alias count, nesting depth, file size).
import { LineCounter, isAlias, isCollection, isMap, isScalar, isSeq, parseAllDocuments, stringify, visit, type Document, type Node } from 'yaml';
import type { KubeObject, StatusCause } from './types.ts';
import { parseFieldPath } from './field-path.ts';
import { MAX_NESTING_DEPTH, valueDepthExceededAt } from './input-limits.ts';

export const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;
export const MAX_ALIAS_COUNT = 100;

export interface ManifestDoc {
  object: KubeObject;
  file: string;
  /** 0-based position of the object in the file (List items count one each). */
  index: number;
  /** 1-based line where the object starts. */
  line: number;
  /** Where a field path (`spec.ports[0].containerPort`) is written; missing fields → nearest parent. */
  locate(fieldPath: string): { line: number; column: number };
}

export class ManifestError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field?: string;
  constructor(file: string, line: number, column: number, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(`${file}:${line}:${column}: ${message}`, { cause: opts.cause });
    this.name = 'ManifestError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.field = opts.field;
  }
}

export function parseManifests(text: string, file: string): ManifestDoc[] {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new ManifestError(file, 1, 1, `file is ${bytes} bytes; manifests are limited to ${MAX_MANIFEST_BYTES} bytes (5 MiB)`);
  }
  const lc = new LineCounter();
  const pos = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const out: ManifestDoc[] = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      const p = pos(e.pos[0]);
      // the parser recurses per nesting level: a stack overflow means the input nests absurdly deep
      if (/call stack|stack overflow/i.test(e.message)) {
        throw new ManifestError(file, p.line, p.column, `the document nests deeper than the limit of ${MAX_NESTING_DEPTH} levels`, { cause: e });
      }
      throw new ManifestError(file, p.line, p.column, `YAML syntax error: ${e.message}`, { cause: e });
    }
    if (doc.contents === null) continue; // empty document (`---` only, or comments)
    const start = pos(doc.contents.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const at = firstAlias(doc) ?? doc.contents.range[0];
      const p = pos(at);
      throw new ManifestError(file, p.line, p.column, `cannot load document: ${(err as Error).message} (at most ${MAX_ALIAS_COUNT} alias expansions are allowed; the first alias is here)`, { cause: err });
    }
    const deep = valueDepthExceededAt(value);
    if (deep !== undefined) {
      // a recursive alias (`&a [*a]`) loads as a cycle, which is infinitely deep: refused here too
      const p = deep === '(top level)' ? start : locator(doc, [], pos)(deep);
      throw new ManifestError(file, p.line, p.column, `the document nests deeper than the limit of ${MAX_NESTING_DEPTH} levels (at ${deep.length > 120 ? `…${deep.slice(-120)}` : deep})`);
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(file, start.line, start.column, `a manifest must be a mapping with apiVersion and kind, got ${Array.isArray(value) ? 'a sequence' : typeof value}`);
    }
    const obj = value as Record<string, unknown>;
    checkIdentity(obj, file, start, []);
    if (isListKind(obj)) {
      if (!Array.isArray(obj.items)) throw new ManifestError(file, start.line, start.column, `${String(obj.kind)} must have an items sequence`, { field: 'items' });
      obj.items.forEach((item, i) => {
        const loc = locator(doc, ['items', i], pos);
        const itemPos = loc('');
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          throw new ManifestError(file, itemPos.line, itemPos.column, `items[${i}] must be a mapping with apiVersion and kind`, { field: `items[${i}]` });
        }
        checkIdentity(item as Record<string, unknown>, file, itemPos, ['items', i]);
        out.push({ object: item as KubeObject, file, index: out.length, line: itemPos.line, locate: loc });
      });
    } else {
      out.push({ object: obj as KubeObject, file, index: out.length, line: start.line, locate: locator(doc, [], pos) });
    }
  }
  return out;
}

/** Offset of the first alias (`*name`) in a document, for pointing at an alias bomb. */
function firstAlias(doc: Document.Parsed): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) {
        at = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return at;
}

function isListKind(obj: Record<string, unknown>): boolean {
  return typeof obj.kind === 'string' && obj.kind.endsWith('List') && 'items' in obj;
}

function checkIdentity(obj: Record<string, unknown>, file: string, at: { line: number; column: number }, prefix: (string | number)[]) {
  const where = prefix.length ? `items[${String(prefix[1])}].` : '';
  for (const k of ['apiVersion', 'kind'] as const) {
    if (typeof obj[k] !== 'string' || !obj[k]) {
      throw new ManifestError(file, at.line, at.column, `${where}${k}: Required value: every manifest needs apiVersion and kind`, { field: `${where}${k}` });
    }
  }
}

type Pos = (offset: number) => { line: number; column: number };

function locator(doc: Document.Parsed, prefix: (string | number)[], pos: Pos) {
  return (fieldPath: string) => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let best = node?.range ? node.range[0] : 0;
    let keyOffset: number | undefined;
    let resolved = true;
    for (const seg of [...prefix, ...(fieldPath ? parseFieldPath(fieldPath) : [])]) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) { resolved = false; break; }
        keyOffset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : undefined;
        best = keyOffset ?? best;
        node = pair.value as Node | null;
        // a scalar value is the most precise place; collections are pointed at by their key
        if (isScalar(node) && node.range) best = node.range[0];
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg] as Node | null;
        keyOffset = undefined;
        if (node && (node as Node).range) best = (node as Node).range![0];
      } else { resolved = false; break; }
    }
    if (resolved && node && isCollection(node) && keyOffset !== undefined) best = keyOffset;
    return pos(best);
  };
}

/** `file:LINE:COL: spec.replicas: Invalid value: ...` */
export function formatCause(doc: ManifestDoc, cause: StatusCause): string {
  const { line, column } = doc.locate(cause.field ?? '');
  return `${doc.file}:${line}:${column}: ${cause.field ? `${cause.field}: ` : ''}${cause.message}`;
}

/** YAML as kubectl prints it: block style, sequences not indented, no anchors, no folding. */
export function toYaml(obj: unknown): string {
  return stringify(obj, { indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false });
}

export function toYamlStream(objs: unknown[]): string {
  return objs.map(toYaml).join('---\n');
}

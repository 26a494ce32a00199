// Kubernetes label and field selectors: parsing (string and object form), matching, formatting.
// Parse errors are BadRequest so the API answers 400 with a message naming the bad part.
import { BadRequest } from './errors.ts';

export const LabelOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelOperator = (typeof LabelOperators)[number];

/** `a=b` is In [b]; `a!=b` is NotIn [b] (like Kubernetes, it also matches objects without `a`). */
export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** All requirements must hold; no requirements = matches everything. */
export interface LabelSelector {
  requirements: LabelRequirement[];
}

/** The object form used in specs (`containerSelector`, `selector`). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface FieldRequirement {
  /** Dotted path into the object, e.g. `metadata.name`, `spec.nodeName`, `status.phase`. */
  path: string;
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const FIELD_PATH = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;

function bad(kind: 'label' | 'field', input: string, why: string): BadRequest {
  return new BadRequest(`invalid ${kind} selector "${input}": ${why}`);
}

function checkKey(key: string, input: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw bad('label', input, `key "${key}": prefix must be a DNS subdomain`);
  }
  if (!NAME_PART.test(name)) {
    throw bad('label', input, `key "${key}": name must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character`);
  }
}

function checkValue(value: string, input: string): void {
  if (value !== '' && !NAME_PART.test(value)) {
    throw bad('label', input, `value "${value}": must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character`);
  }
}

type Token = { kind: 'word' | '!' | '!=' | '=' | '==' | '(' | ')' | ',' | 'other'; text: string; pos: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c === ' ' || c === '\t') { i++; continue; }
    const two = input.slice(i, i + 2);
    if (two === '!=' || two === '==') { tokens.push({ kind: two, text: two, pos: i }); i += 2; continue; }
    if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',') { tokens.push({ kind: c, text: c, pos: i }); i++; continue; }
    const m = /^[A-Za-z0-9._\/-]+/.exec(input.slice(i));
    if (m) { tokens.push({ kind: 'word', text: m[0], pos: i }); i += m[0].length; continue; }
    tokens.push({ kind: 'other', text: c, pos: i });
    i++;
  }
  return tokens;
}

/** Parse `a=b,a==b,a!=b,a in (x,y),a notin (x),a,!a`. The empty string selects everything. */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let p = 0;
  const peek = (): Token | undefined => tokens[p];
  const describe = (t: Token | undefined) => (t ? `'${t.text}' at position ${t.pos}` : 'end of input');
  const expectWord = (what: string): string => {
    const t = tokens[p];
    if (t?.kind !== 'word') throw bad('label', input, `expected ${what}, found ${describe(t)}`);
    p++;
    return t.text;
  };
  if (tokens.length === 0) return { requirements };
  for (;;) {
    if (peek()?.kind === '!') {
      p++;
      const key = expectWord('a label key after "!"');
      checkKey(key, input);
      requirements.push({ key, operator: 'DoesNotExist', values: [] });
    } else {
      const key = expectWord('a label key');
      checkKey(key, input);
      const t = peek();
      if (t === undefined || t.kind === ',') {
        requirements.push({ key, operator: 'Exists', values: [] });
      } else if (t.kind === '=' || t.kind === '==' || t.kind === '!=') {
        p++;
        // `a=` (empty value) is legal and matches the label with an empty value.
        const value = peek()?.kind === 'word' ? expectWord('a value') : '';
        checkValue(value, input);
        requirements.push({ key, operator: t.kind === '!=' ? 'NotIn' : 'In', values: [value] });
      } else if (t.kind === 'word' && (t.text === 'in' || t.text === 'notin')) {
        p++;
        if (peek()?.kind !== '(') throw bad('label', input, `expected '(' after '${t.text}', found ${describe(peek())}`);
        p++;
        const values: string[] = [];
        for (;;) {
          const value = expectWord(`a value in the set of '${key}'`);
          checkValue(value, input);
          values.push(value);
          const sep = peek();
          p++;
          if (sep?.kind === ')') break;
          if (sep?.kind !== ',') throw bad('label', input, `expected ',' or ')' in the set of '${key}', found ${describe(sep)}`);
        }
        requirements.push({ key, operator: t.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        throw bad('label', input, `expected an operator (=, ==, !=, in, notin) after '${key}', found ${describe(t)}`);
      }
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.kind !== ',') throw bad('label', input, `expected ',' between requirements, found ${describe(sep)}`);
    p++;
  }
  return { requirements };
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      case 'In': return has && r.values.includes(l[r.key]);
      case 'NotIn': return !has || !r.values.includes(l[r.key]);
    }
  });
}

/**
 * Convert `{matchLabels, matchExpressions}` to a LabelSelector. undefined/null/{} select everything
 * (callers that need "nothing" for an absent selector must check before calling).
 */
export function labelSelectorFromObject(o: LabelSelectorObject | null | undefined): LabelSelector {
  const requirements: LabelRequirement[] = [];
  const shown = JSON.stringify(o ?? {});
  for (const [key, value] of Object.entries(o?.matchLabels ?? {})) {
    checkKey(key, shown);
    checkValue(String(value), shown);
    requirements.push({ key, operator: 'In', values: [String(value)] });
  }
  for (const [i, e] of (o?.matchExpressions ?? []).entries()) {
    const where = `matchExpressions[${i}]`;
    if (typeof e?.key !== 'string') throw bad('label', shown, `${where}.key is required`);
    checkKey(e.key, shown);
    const op = LabelOperators.find((x) => x === e.operator);
    if (!op) throw bad('label', shown, `${where}.operator "${e.operator}" is not one of ${LabelOperators.join(', ')}`);
    const values = e.values ?? [];
    if ((op === 'In' || op === 'NotIn') && values.length === 0) throw bad('label', shown, `${where}.values must be non-empty for ${op}`);
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) throw bad('label', shown, `${where}.values must be empty for ${op}`);
    for (const v of values) checkValue(v, shown);
    requirements.push({ key: e.key, operator: op, values: [...values] });
  }
  return { requirements };
}

function isParsed(o: LabelSelector | LabelSelectorObject): o is LabelSelector {
  return Array.isArray((o as LabelSelector).requirements);
}

/** Kubernetes string form, requirements sorted by key (as `metav1.FormatLabelSelector` does). */
export function formatLabelSelector(o: LabelSelectorObject | LabelSelector | null | undefined): string {
  if (!o) return '';
  const sel = isParsed(o) ? o : labelSelectorFromObject(o);
  return [...sel.requirements]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => {
      switch (r.operator) {
        case 'Exists': return r.key;
        case 'DoesNotExist': return `!${r.key}`;
        case 'In': return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'NotIn': return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${[...r.values].sort().join(',')})`;
      }
    })
    .join(',');
}

/** Split on unescaped commas; `\,` `\=` `\!` `\\` escape those characters inside values (as in Kubernetes). */
function splitUnescaped(input: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '\\' && i + 1 < input.length) { cur += c + input[i + 1]; i++; continue; }
    if (c === ',') { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(v: string, input: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const n = v[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=' && n !== '!') throw bad('field', input, `invalid escape sequence in value "${v}"`);
      out += n;
      i++;
    } else if (c === ',' || c === '=' || c === '!') {
      throw bad('field', input, `unescaped '${c}' in value "${v}"`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Parse `metadata.name=x,status.phase!=Running`; any dotted path of letters/digits is accepted. */
export function parseFieldSelector(input: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (input.trim() === '') return { requirements };
  for (const raw of splitUnescaped(input)) {
    const part = raw.trim();
    const m = /^([^=!]*?)\s*(!=|==|=)\s*(.*)$/.exec(part);
    if (!m) throw bad('field', input, `requirement "${part}" needs an operator (=, ==, !=)`);
    const [, path, op, value] = m;
    if (!FIELD_PATH.test(path)) throw bad('field', input, `"${path}" is not a field path (expected e.g. metadata.name)`);
    requirements.push({ path, operator: op === '!=' ? '!=' : '=', value: unescapeValue(value, input) });
  }
  return { requirements };
}

/** The field's value as a selector compares it: missing → '', scalars stringified. */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchesFields(sel: FieldSelector, obj: unknown): boolean {
  return sel.requirements.every((r) => (fieldValue(obj, r.path) === r.value) === (r.operator === '='));
}

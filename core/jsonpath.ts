// The JSONPath subset Kubernetes printer columns use: `.a.b`, `.a[0]`, `.a[*].b`,
// `.a[?(@.type=="Ready")].status`, `.metadata.labels.drover\.dev/x`, optional `{...}` braces.

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; op?: '==' | '!='; value?: unknown };

const cache = new Map<string, { steps: Step[]; multi: boolean }>();

function parse(expr: string): { steps: Step[]; multi: boolean } {
  const hit = cache.get(expr);
  if (hit) return hit;
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) i++; // `\.` is a literal dot in a key
        name += s[i++];
      }
      if (name === '*') steps.push({ kind: 'wildcard' });
      else if (name) steps.push({ kind: 'field', name });
    } else if (s[i] === '[') {
      const end = matchingBracket(s, i);
      steps.push(parseBracket(s.slice(i + 1, end).trim(), expr));
      i = end + 1;
    } else {
      throw new SyntaxError(`unsupported JSONPath ${JSON.stringify(expr)} at offset ${i}`);
    }
  }
  const parsed = { steps, multi: steps.some((st) => st.kind === 'wildcard' || st.kind === 'filter') };
  cache.set(expr, parsed);
  return parsed;
}

function matchingBracket(s: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') { depth--; if (depth === 0 && c === ']') return i; }
  }
  throw new SyntaxError(`unbalanced brackets in JSONPath ${JSON.stringify(s)}`);
}

function parseBracket(inner: string, expr: string): Step {
  if (inner === '*') return { kind: 'wildcard' };
  if (/^-?[0-9]+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { kind: 'field', name: quoted[2] };
  const filter = /^\?\(\s*@((?:\.[A-Za-z0-9_-]+)+)\s*(?:(==|!=)\s*(.+?))?\s*\)$/.exec(inner);
  if (filter) {
    const path = filter[1].split('.').slice(1);
    if (!filter[2]) return { kind: 'filter', path };
    return { kind: 'filter', path, op: filter[2] as '==' | '!=', value: literal(filter[3]) };
  }
  throw new SyntaxError(`unsupported JSONPath ${JSON.stringify(expr)}: [${inner}]`);
}

function literal(text: string): unknown {
  const q = /^(['"])(.*)\1$/.exec(text);
  if (q) return q[2];
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?[0-9.]+$/.test(text)) return Number(text);
  return text;
}

/**
 * Evaluates a printer-column JSONPath. Paths without `*` or filters give one value (or undefined);
 * paths with them give the array of matches.
 */
export function evalJsonPath(obj: unknown, expr: string): unknown {
  const { steps, multi } = parse(expr);
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if (st.kind === 'field') {
        if (typeof v === 'object' && !Array.isArray(v) && st.name in v) next.push((v as Record<string, unknown>)[st.name]);
      } else if (st.kind === 'index') {
        if (Array.isArray(v)) {
          const at = st.index < 0 ? v.length + st.index : st.index;
          if (at >= 0 && at < v.length) next.push(v[at]);
        }
      } else if (st.kind === 'wildcard') {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object') next.push(...Object.values(v as object));
      } else if (Array.isArray(v)) {
        for (const item of v) if (matches(item, st)) next.push(item);
      }
    }
    cur = next;
  }
  return multi ? cur : cur[0];
}

function matches(item: unknown, f: Extract<Step, { kind: 'filter' }>): boolean {
  let v: unknown = item;
  for (const k of f.path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (!f.op) return v !== undefined && v !== null;
  return f.op === '==' ? v === f.value : v !== f.value;
}

// A small unified line diff (LCS), for `drover diff`; no dependency because the inputs are a few hundred lines.

export type DiffOp = { op: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Edit script from a to b by longest common subsequence (O(n·m), fine for manifests). */
export function diffLines(a: string[], b: string[]): DiffOp[] {
  const n = a.length, m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { ops.push({ op: ' ', line: a[i] }); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) ops.push({ op: '-', line: a[i++] });
    else ops.push({ op: '+', line: b[j++] });
  }
  while (i < n) ops.push({ op: '-', line: a[i++] });
  while (j < m) ops.push({ op: '+', line: b[j++] });
  return ops;
}

/** `diff -u` style text with `context` lines around each change; '' when a and b are equal. */
export function unifiedDiff(a: string, b: string, opts: { fromFile: string; toFile: string; context?: number }): string {
  const context = opts.context ?? 3;
  const ops = diffLines(splitLines(a), splitLines(b));
  const changed = ops.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';

  // Group changes whose context windows touch into one hunk.
  const hunks: Array<[number, number]> = [];
  for (const k of changed) {
    const start = Math.max(0, k - context), end = Math.min(ops.length, k + context + 1);
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }

  const out = [`--- ${opts.fromFile}`, `+++ ${opts.toFile}`];
  for (const [start, end] of hunks) {
    let aLine = 1, bLine = 1;
    for (let k = 0; k < start; k++) {
      if (ops[k].op !== '+') aLine++;
      if (ops[k].op !== '-') bLine++;
    }
    const body = ops.slice(start, end);
    const aCount = body.filter((o) => o.op !== '+').length;
    const bCount = body.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@`);
    for (const o of body) out.push(o.op + o.line);
  }
  return out.join('\n') + '\n';
}

// diff -u prints an empty range as `start-1,0`.
function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

// Limits on untrusted structured input (API bodies, manifests): how deep it may nest. Deeper input is
// refused before it is parsed or walked, so no recursive code (structuredClone, ajv, patches) can overflow.

/** Objects and arrays inside each other; Kubernetes objects need fewer than 20. */
export const MAX_NESTING_DEPTH = 64;

/**
 * The byte offset of the first `{` or `[` of JSON text that opens level `max + 1`, or -1 when the text
 * stays within `max` levels. Strings are skipped, so brackets inside them do not count; the text need
 * not be valid JSON (the parser reports that afterwards).
 */
export function jsonDepthExceededAt(text: string, max = MAX_NESTING_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** The path (`spec.a[0].b`) of the first value nested deeper than `max` levels, or undefined. Iterative. */
export function valueDepthExceededAt(value: unknown, max = MAX_NESTING_DEPTH): string | undefined {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return path || '(top level)';
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: `${path}[${i}]` }));
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, depth: depth + 1, path: path ? `${path}.${k}` : k });
  }
  return undefined;
}

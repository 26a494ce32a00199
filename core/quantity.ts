// Kubernetes resource quantities (`500m`, `2`, `1Gi`, `1e3`). The CRDs hold the pattern that
// validates; this copy parses for schedulers and status, and a test keeps the two identical.

/** The `pattern` every cpu/memory field in crds/ uses (Kubernetes' own quantity pattern). */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a quantity in base units (cores for cpu, bytes for memory). */
const QUANTITY_RE = new RegExp(QUANTITY_PATTERN);
/** Parsed quantities: controllers re-read the same few strings ("250m", "128Mi") for every object. */
const parsed = new Map<string, number>();

export function parseQuantity(q: number | string): number {
  if (typeof q === 'number') return q;
  const hit = parsed.get(q);
  if (hit !== undefined) return hit;
  const value = parseQuantityString(q);
  if (parsed.size < 10_000) parsed.set(q, value);
  return value;
}

function parseQuantityString(q: string): number {
  if (!QUANTITY_RE.test(q)) {
    throw new RangeError(`invalid quantity "${q}": use e.g. 500m, 2, 256Mi or 1Gi`);
  }
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(q)!;
  const [num, suffix] = [Number(m[1]), m[2]];
  if (suffix in SUFFIX) return num * SUFFIX[suffix];
  return num * 10 ** Number(suffix.slice(1)); // decimal exponent, e.g. 1e3
}

/** cpu in millicores, rounded up like Kubernetes (`0.1` → 100, `250m` → 250). */
export function cpuMillis(q: number | string): number {
  return Math.ceil(Math.round(parseQuantity(q) * 1e6) / 1e3);
}

/** memory in bytes, rounded up. */
export function memoryBytes(q: number | string): number {
  return Math.ceil(parseQuantity(q));
}

/** A readable quantity: millicores below one core, binary suffixes for bytes. */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function formatMemory(bytes: number): string {
  for (const [suffix, f] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}

// Env entries marked `secret: true` (Container, Agent, AgentDeployment template): their values are shown
// as <redacted> wherever drover prints an object for a person (describe, logs, Event messages). The
// stored object and the workload keep the real value, like kubectl get returns a Secret's data.

export const REDACTED = '<redacted>';
/** Shorter secret values are not scrubbed from free text: replacing every "1" or "on" would garble it. */
export const MIN_SCRUBBED_LENGTH = 4;
const MAX_WALK_DEPTH = 64;

interface EnvEntry {
  name?: unknown;
  value?: unknown;
  secret?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSecretEntry = (e: unknown): e is EnvEntry => isObject(e) && e.secret === true && typeof e.value === 'string';

/**
 * A copy of `value` in which every `env` list's secret entries have `value: "<redacted>"`. Parts without
 * secrets are shared, not copied; without any secret the same reference comes back.
 */
export function redactSecretEnv<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(v: unknown, depth: number): unknown {
  if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((x, i) => {
      const y = walk(x, depth + 1);
      if (y !== x) (out ??= [...v])[i] = y;
    });
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    let y = k === 'env' && Array.isArray(x) ? redactEnvList(x) : x;
    y = walk(y, depth + 1);
    if (y !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = y;
  }
  return out ?? v;
}

function redactEnvList(list: unknown[]): unknown[] {
  if (!list.some(isSecretEntry)) return list;
  return list.map((e) => (isSecretEntry(e) ? { ...e, value: REDACTED } : e));
}

/** The values of every secret env entry in `value` (any depth), for scrubbing free text. */
export function secretEnvValues(value: unknown): string[] {
  const out = new Set<string>();
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push({ v: x, depth: depth + 1 });
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === 'env' && Array.isArray(x)) for (const e of x) if (isSecretEntry(e) && (e.value as string).length > 0) out.add(e.value as string);
      stack.push({ v: x, depth: depth + 1 });
    }
  }
  return [...out];
}

/** `text` with every occurrence of each secret value (of at least MIN_SCRUBBED_LENGTH characters) replaced by <redacted>. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // longest first, so a secret that contains another is replaced whole
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= MIN_SCRUBBED_LENGTH && out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

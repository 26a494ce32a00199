// Go-style durations (`2s`, `5m`, `1h30m`, `250ms`) as the CRDs spell them. The CRDs hold the
// pattern that validates; this copy parses, and a test keeps the two identical.

/** The `pattern` every duration field in crds/ uses. */
export const DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+)$';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string; throws RangeError on anything the CRD pattern rejects. */
export function parseDuration(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) {
    throw new RangeError(`invalid duration "${text}": use a number and a unit, e.g. 2s, 5m or 1h30m`);
  }
  if (text === '0') return 0;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

/** The shortest Go-style spelling of a duration in milliseconds (`90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600); rest -= h * 3600;
  const m = Math.floor(rest / 60); const s = rest - m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}

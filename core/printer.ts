// kubectl-style tables from the CRDs' additionalPrinterColumns.
import type { PrinterColumn, ResourceType } from './resources.ts';
import { evalJsonPath } from './jsonpath.ts';

export { evalJsonPath } from './jsonpath.ts';

const NAME: PrinterColumn = { name: 'Name', type: 'string', jsonPath: '.metadata.name' };
const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** NAME, then the CRD's columns (priority > 0 only when wide), then AGE if the CRD has none. */
export function printerColumns(rt: ResourceType, opts: { wide?: boolean } = {}): PrinterColumn[] {
  const own = rt.printerColumns;
  const shown = own.filter((c) => opts.wide || !c.priority);
  const hasAge = own.some((c) => c.name.toLowerCase() === 'age');
  return [NAME, ...shown, ...(hasAge ? [] : [AGE])];
}

/** One table row; a field that is not set prints `<none>` like kubectl. */
export function printerRow(rt: ResourceType, obj: unknown, opts: { wide?: boolean; now?: number } = {}): string[] {
  const now = opts.now ?? Date.now();
  return printerColumns(rt, opts).map((c) => formatCell(evalJsonPath(obj, c.jsonPath), c.type, now));
}

function formatCell(v: unknown, type: string, now: number): string {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return '<none>';
  if (Array.isArray(v)) return v.map((x) => formatCell(x, type, now)).join(',');
  if (type === 'date' && typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? '<invalid>' : formatAge(now - t);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** kubectl's HumanDuration: `45s`, `5m12s`, `3h4m`, `2d3h`, `120d`, `3y12d`. */
export function formatAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/**
 * Aligned columns like kubectl's tabwriter (min width 6, padding 3); headers are upper-cased.
 * Returns lines joined with '\n' and a trailing newline.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(6, ...all.map((r) => (r[i] ?? '').length + 3)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : (cell ?? '').padEnd(widths[i]))).join('').trimEnd())
    .join('\n') + '\n';
}

// `--for=` conditions and a watch-driven wait until one holds (used by `wait` and `delete --wait`).
import type { ApiClient } from '../core/client.ts';
import { NotFound } from '../core/errors.ts';
import type { ResourceType } from '../core/resources.ts';
import type { Condition, KubeObject } from '../core/types.ts';
import { usageError } from './cli-error.ts';
import { watchLoop } from './watch-loop.ts';

export type WaitCondition =
  | { type: 'delete' }
  | { type: 'condition'; condition: string; status: string }
  | { type: 'jsonpath'; path: string[]; value?: string };

/** `condition=Available[=True]`, `delete`, `jsonpath={.status.phase}=Running`. */
export function parseWaitFor(spec: string): WaitCondition {
  if (spec === 'delete') return { type: 'delete' };
  const cond = /^condition=([^=]+)(?:=(.+))?$/.exec(spec);
  if (cond) return { type: 'condition', condition: cond[1], status: cond[2] ?? 'True' };
  const jp = /^jsonpath=(['"]?)\{([^}]*)\}\1(?:=(.*))?$/.exec(spec);
  if (jp) {
    const value = jp[3] === undefined ? undefined : jp[3].replace(/^(['"])(.*)\1$/, '$2');
    return { type: 'jsonpath', path: parseJsonPath(jp[2]), value };
  }
  throw usageError(`unrecognized --for condition "${spec}"`, 'use --for=condition=NAME[=STATUS], --for=delete or --for=jsonpath={.path}=VALUE');
}

/** `.status.conditions[0].type` → ['status', 'conditions', '0', 'type']. */
export function parseJsonPath(expr: string): string[] {
  const trimmed = expr.trim();
  if (!trimmed.startsWith('.')) throw usageError(`unsupported jsonpath "{${expr}}"`, 'use a dotted path such as {.status.phase}');
  return trimmed.slice(1).replace(/\[(\d+)\]/g, '.$1').replace(/\['([^']+)'\]/g, '.$1').split('.').filter(Boolean);
}

function valueAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Does `obj` (undefined = gone) satisfy the condition? */
export function conditionMet(c: WaitCondition, obj: KubeObject | undefined): boolean {
  if (c.type === 'delete') return obj === undefined;
  if (!obj) return false;
  if (c.type === 'condition') {
    const conditions = ((obj.status as { conditions?: Condition[] } | undefined)?.conditions) ?? [];
    const found = conditions.find((x) => x.type.toLowerCase() === c.condition.toLowerCase());
    return !!found && found.status.toLowerCase() === c.status.toLowerCase();
  }
  const v = valueAt(obj, c.path);
  if (c.value === undefined) return v !== undefined && v !== null && v !== '';
  return (typeof v === 'object' ? JSON.stringify(v) : String(v)) === c.value;
}

export function describeCondition(c: WaitCondition): string {
  if (c.type === 'delete') return 'deletion';
  if (c.type === 'condition') return `condition ${c.condition}=${c.status}`;
  return `{.${c.path.join('.')}}${c.value === undefined ? '' : `=${c.value}`}`;
}

/** `30s`, `2m`, `1h`, `500ms`, `1m30s`; a bare number is seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0, consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw usageError(`invalid duration "${text}"`, 'use e.g. 30s, 2m or 1h');
  return total;
}

export type WaitResult = 'met' | 'timeout' | 'interrupted';

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called every progressEveryMs while waiting (for a progress line on a TTY). */
  onProgress?: (elapsedMs: number) => void;
  progressEveryMs?: number;
}

/** Watch (not poll) one object until the condition holds; a missing object fails unless waiting for deletion. */
export async function waitForObject(
  client: ApiClient, rt: ResourceType, namespace: string | undefined, name: string, c: WaitCondition, opts: WaitOptions,
): Promise<WaitResult> {
  const fieldSelector = `metadata.name=${name}`;
  const list = await client.list(rt, { namespace, fieldSelector });
  let obj: KubeObject | undefined = list.items[0];
  if (conditionMet(c, obj)) return 'met';
  if (!obj) throw new NotFound(`${rt.plural}.${rt.group} "${name}" not found`);

  const stop = new AbortController();
  let result: WaitResult = 'timeout';
  const finish = (r: WaitResult) => { result = r; stop.abort(); };
  const onAbort = () => finish('interrupted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => finish('timeout'), opts.timeoutMs);
  const started = Date.now();
  const progress = opts.onProgress ? setInterval(() => opts.onProgress?.(Date.now() - started), opts.progressEveryMs ?? 5000) : undefined;
  const check = () => { if (conditionMet(c, obj)) finish('met'); };
  try {
    await watchLoop(client, rt, {
      namespace, fieldSelector, resourceVersion: list.metadata.resourceVersion, signal: stop.signal,
      onRelist: (items) => { obj = items[0]; check(); },
    }, (ev) => {
      obj = ev.type === 'DELETED' ? undefined : ev.object;
      check();
    });
  } finally {
    clearTimeout(timer);
    if (progress) clearInterval(progress);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return result;
}

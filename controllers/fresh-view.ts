// Read-your-writes over a lagging informer cache: objects this controller just wrote or created are
// used until the cache catches up (resourceVersion at least as new), and ones it deleted are hidden.
// Without it a reconcile right after a write would redo the write (bind twice, create twice).
import type { KubeObject } from '../core/types.ts';

const TTL_MS = 10_000;

export interface FreshView {
  wrote(obj: KubeObject, now: number): void;
  deleted(obj: KubeObject, now: number): void;
  /** The cached objects of one namespace overlaid with our own recent writes. */
  overlay(cached: KubeObject[], namespace: string | undefined, now: number): KubeObject[];
  /** True while something we wrote has not reached the cache yet. */
  pending(namespace: string | undefined, now: number): boolean;
}

const rv = (o: KubeObject | undefined) => Number(o?.metadata.resourceVersion ?? 0);

export function createFreshView(): FreshView {
  const written = new Map<string, { obj: KubeObject; at: number }>();
  const gone = new Map<string, { uid?: string; at: number }>();
  const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
  const expire = (now: number) => {
    for (const [k, v] of written) if (now - v.at > TTL_MS) written.delete(k);
    for (const [k, v] of gone) if (now - v.at > TTL_MS) gone.delete(k);
  };
  return {
    wrote(obj, now) {
      written.set(key(obj.metadata.namespace, obj.metadata.name), { obj, at: now });
    },
    deleted(obj, now) {
      const k = key(obj.metadata.namespace, obj.metadata.name);
      written.delete(k);
      gone.set(k, { uid: obj.metadata.uid, at: now });
    },
    overlay(cached, namespace, now) {
      expire(now);
      const out: KubeObject[] = [];
      const seen = new Set<string>();
      for (const c of cached) {
        const k = key(c.metadata.namespace, c.metadata.name);
        seen.add(k);
        const g = gone.get(k);
        if (g && (!g.uid || g.uid === c.metadata.uid)) continue;
        const w = written.get(k);
        if (w && rv(w.obj) > rv(c)) out.push(w.obj);
        else {
          if (w) written.delete(k);
          out.push(c);
        }
      }
      for (const [k, w] of written) {
        if (!seen.has(k) && (w.obj.metadata.namespace ?? '') === (namespace ?? '')) out.push(w.obj);
      }
      // Deletions the cache already shows need no more hiding.
      for (const k of gone.keys()) if (k.startsWith(`${namespace ?? ''}/`) && !seen.has(k)) gone.delete(k);
      return out;
    },
    pending(namespace, now) {
      expire(now);
      for (const w of written.values()) if ((w.obj.metadata.namespace ?? '') === (namespace ?? '')) return true;
      return false;
    },
  };
}

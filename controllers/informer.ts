// Informer: list, then watch from the list's resourceVersion, keeping an indexed cache and telling
// handlers about add/update/delete. Modelled on client-node's informer and client-go's reflector.
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { Logger } from '../core/logging.ts';
import { nullLogger } from '../core/logging.ts';
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';

export interface ListerWatcherListOptions {
  namespace?: string;
  labelSelector?: string;
}

export interface ListerWatcherWatchOptions extends ListerWatcherListOptions {
  resourceVersion: string;
}

/**
 * Where an informer gets its objects. A too-old resourceVersion (410 Gone) either rejects watch(),
 * arrives through onError, or arrives as an ERROR event whose object is a Status with code 410.
 */
export interface ListerWatcher {
  list(opts: ListerWatcherListOptions): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** onError(undefined) means the watch ended cleanly (e.g. server timeout); the informer re-watches. */
  watch(
    opts: ListerWatcherWatchOptions,
    onEvent: (ev: WatchEvent) => void,
    onError: (err?: unknown) => void,
  ): Promise<{ stop(): void }>;
}

export const InformerEvents = ['add', 'update', 'delete'] as const;
export type InformerEvent = (typeof InformerEvents)[number];

export interface InformerHandlers {
  add: (obj: KubeObject) => void;
  update: (oldObj: KubeObject, newObj: KubeObject) => void;
  delete: (obj: KubeObject) => void;
}

export type IndexFunc = (obj: KubeObject) => string[];

/** Read-only view of the informer's cache. Returned objects are shared: clone before mutating. */
export interface ObjectCache {
  get(namespace: string | undefined, name: string): KubeObject | undefined;
  list(namespace?: string): KubeObject[];
  byIndex(indexName: string, value: string): KubeObject[];
}

export interface Informer {
  /** Resolves once the first list is in the cache (or the informer was stopped first). */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  /** Add indexes (existing objects are indexed at once); index names must be new. */
  addIndexers(indexers: Record<string, IndexFunc>): void;
  /** Returns a function that removes the handler. */
  on<E extends InformerEvent>(event: E, handler: InformerHandlers[E]): () => void;
  readonly cache: ObjectCache;
  /** Last resourceVersion seen from a list, an event or a bookmark. */
  lastSyncResourceVersion(): string;
}

export interface InformerOptions {
  listerWatcher: ListerWatcher;
  namespace?: string;
  labelSelector?: string;
  clock?: Clock;
  logger?: Logger;
  indexers?: Record<string, IndexFunc>;
  /** Reconnect delay: doubles per failed attempt up to maxMs, reset by any event. */
  backoff?: { initialMs: number; maxMs: number };
}

export const DEFAULT_INFORMER_BACKOFF = { initialMs: 100, maxMs: 30_000 } as const;

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** True for a 410 Gone however it arrived: ApiError, HTTP-style error, or a Status body. */
export function isGone(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; statusCode?: unknown; status?: unknown; body?: { code?: unknown } };
  return e.code === 410 || e.statusCode === 410 || e.body?.code === 410 || (typeof e.status === 'number' && e.status === 410);
}

export function createInformer(opts: InformerOptions): Informer {
  const lw = opts.listerWatcher;
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? nullLogger();
  const backoff = opts.backoff ?? DEFAULT_INFORMER_BACKOFF;
  const selector: ListerWatcherListOptions = { namespace: opts.namespace, labelSelector: opts.labelSelector };

  const items = new Map<string, KubeObject>();
  const indexers: Record<string, IndexFunc> = { ...opts.indexers };
  const indices = new Map<string, Map<string, Set<string>>>(Object.keys(indexers).map((n) => [n, new Map()]));
  const handlers: { [E in InformerEvent]: Set<InformerHandlers[E]> } = { add: new Set(), update: new Set(), delete: new Set() };

  let rv = '';
  let synced = false;
  let stopped = false;
  let session = 0; // bumped on every (re)connect and on stop; callbacks of older sessions are ignored
  let current: { stop(): void } | undefined;
  let timer: TimerHandle | undefined;
  let delay = backoff.initialMs;
  let resolveStart: (() => void) | undefined;

  // ---- cache + indices ----
  function indexValues(obj: KubeObject): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, fn] of Object.entries(indexers)) out.set(name, fn(obj));
    return out;
  }
  function unindex(key: string, obj: KubeObject): void {
    for (const [name, values] of indexValues(obj)) {
      const idx = indices.get(name)!;
      for (const v of values) {
        const set = idx.get(v);
        set?.delete(key);
        if (set?.size === 0) idx.delete(v);
      }
    }
  }
  // list(ns) reads its namespace only, not the whole cache.
  const byNamespace = new Map<string | undefined, Map<string, KubeObject>>();
  function put(obj: KubeObject): KubeObject | undefined {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const old = items.get(key);
    if (old) unindex(key, old);
    items.set(key, obj);
    const ns = obj.metadata.namespace;
    let inNs = byNamespace.get(ns);
    if (!inNs) byNamespace.set(ns, (inNs = new Map()));
    inNs.set(key, obj);
    for (const [name, values] of indexValues(obj)) {
      const idx = indices.get(name)!;
      for (const v of values) {
        let set = idx.get(v);
        if (!set) idx.set(v, (set = new Set()));
        set.add(key);
      }
    }
    return old;
  }
  function remove(obj: KubeObject): KubeObject | undefined {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const old = items.get(key);
    if (!old) return undefined;
    unindex(key, old);
    items.delete(key);
    const ns = old.metadata.namespace;
    const inNs = byNamespace.get(ns);
    inNs?.delete(key);
    if (inNs?.size === 0) byNamespace.delete(ns);
    return old;
  }

  // ---- handlers ----
  function emit<E extends InformerEvent>(event: E, ...args: Parameters<InformerHandlers[E]>): void {
    for (const h of handlers[event]) {
      try {
        (h as (...a: unknown[]) => void)(...args);
      } catch (err) {
        // A broken handler must not stop the informer or the other handlers.
        logger.error('informer handler failed', { event, err: String(err) });
      }
    }
  }

  function applyEvent(ev: WatchEvent): void {
    const objRv = ev.object?.metadata?.resourceVersion;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = put(ev.object);
        if (old) emit('update', old, ev.object);
        else emit('add', ev.object);
        break;
      }
      case 'DELETED': {
        remove(ev.object);
        emit('delete', ev.object);
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        return fail(ev.object, 'watch');
    }
    if (objRv) rv = objRv;
    delay = backoff.initialMs;
  }

  /** Replace the cache with a fresh list, emitting only the differences so handlers converge. */
  function replace(list: KubeObject[], listRv: string): void {
    const fresh = new Map(list.map((o) => [objectKey(o.metadata.namespace, o.metadata.name), o]));
    for (const [key, old] of [...items]) {
      if (!fresh.has(key)) {
        remove(old);
        emit('delete', old);
      }
    }
    for (const obj of list) {
      const old = put(obj);
      if (!old) emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) emit('update', old, obj);
    }
    rv = listRv;
  }

  // ---- connection loop ----
  function disconnect(): void {
    session++;
    current?.stop();
    current = undefined;
    if (timer) clock.clearTimeout(timer);
    timer = undefined;
  }

  async function connect(mode: 'list' | 'watch'): Promise<void> {
    disconnect();
    const my = session;
    let phase = mode;
    try {
      if (mode === 'list') {
        const res = await lw.list(selector);
        if (my !== session) return;
        replace(res.items, res.resourceVersion);
        delay = backoff.initialMs;
        if (!synced) {
          synced = true;
          resolveStart?.();
        }
        phase = 'watch';
      }
      const w = await lw.watch(
        { ...selector, resourceVersion: rv },
        (ev) => {
          if (my === session) applyEvent(ev);
        },
        (err) => {
          if (my === session) fail(err, 'watch');
        },
      );
      if (my !== session) return w.stop();
      current = w;
    } catch (err) {
      if (my === session) fail(err, phase);
    }
  }

  function fail(err: unknown, mode: 'list' | 'watch'): void {
    if (stopped) return;
    disconnect();
    if (isGone(err) && mode === 'watch') {
      logger.info('watch expired, relisting', { resourceVersion: rv });
      void connect('list');
      return;
    }
    const wait = delay;
    delay = Math.min(delay * 2, backoff.maxMs);
    if (err === undefined) logger.debug('watch ended, re-watching', { resourceVersion: rv, delayMs: wait });
    else logger.warn(mode === 'list' ? 'list failed, retrying' : 'watch failed, re-watching', { err: errText(err), resourceVersion: rv, delayMs: wait });
    const retry: 'list' | 'watch' = mode === 'list' || !rv ? 'list' : 'watch';
    timer = clock.setTimeout(() => {
      timer = undefined;
      void connect(retry);
    }, wait);
  }

  const cache: ObjectCache = {
    get: (ns, name) => items.get(objectKey(ns, name)),
    list: (ns) => (ns === undefined ? [...items.values()] : [...(byNamespace.get(ns)?.values() ?? [])]),
    byIndex: (indexName, value) => {
      const idx = indices.get(indexName);
      if (!idx) throw new Error(`informer has no index ${JSON.stringify(indexName)}`);
      return [...(idx.get(value) ?? [])].map((k) => items.get(k)!).filter(Boolean);
    },
  };

  return {
    start() {
      stopped = false;
      const ready = new Promise<void>((resolve) => {
        resolveStart = resolve;
      });
      void connect('list');
      return ready;
    },
    stop() {
      stopped = true;
      disconnect();
      resolveStart?.();
    },
    hasSynced: () => synced,
    addIndexers(more) {
      for (const [name, fn] of Object.entries(more)) {
        if (indexers[name]) throw new Error(`informer already has index ${JSON.stringify(name)}`);
        indexers[name] = fn;
        indices.set(name, new Map());
      }
      // Re-put every object so the new indexes cover what is already cached.
      for (const obj of [...items.values()]) put(obj);
    },
    on(event, handler) {
      const set = handlers[event] as Set<typeof handler>;
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    },
    cache,
    lastSyncResourceVersion: () => rv,
  };
}

function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}

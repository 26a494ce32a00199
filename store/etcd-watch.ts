// Watches for the etcd store. One etcd watch per store over the whole key prefix feeds a WatchHub
// (the same fan-out, selector translation and bookmarks as SQLite) and keeps the most recent events
// in memory, so a watch from a recent revision replays from memory and every watcher shares one etcd
// stream (like kube-apiserver's watch cache). A watch from before that window gets an etcd watch of
// its own, replayed by etcd from its history. History etcd compacted away answers Gone (410); a stream
// that loses its place (etcd compacted while it was disconnected) ends its watchers with an ERROR
// event carrying a 410 Status, and clients relist.
import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher as EtcdWatcher } from 'etcd3';
import { Gone } from '../core/errors.ts';
import type { Watcher } from '../core/store.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { EtcdKeys } from './etcd-keys.ts';
import { translate, WatchHub, type StoredEvent, type WatchFilter } from './watch-hub.ts';

const HISTORY_PAGE = 500;

/** The stored object of a key-value: its JSON with resourceVersion = the key's mod revision. */
export function decodeObject(kv: IKeyValue, resourceVersion = String(kv.mod_revision)): KubeObject {
  const obj = JSON.parse(kv.value.toString('utf8')) as KubeObject;
  obj.metadata.resourceVersion = resourceVersion;
  return obj;
}

/** An etcd event as a store event; undefined for keys that are not objects (bookkeeping, foreign keys). */
export function toStoredEvent(keys: EtcdKeys, ev: IEvent): StoredEvent | undefined {
  const k = keys.parse(ev.kv.key.toString('utf8'));
  if (!k) return undefined;
  const rev = Number(ev.kv.mod_revision);
  const base = { rev, resource: k.resource, namespace: k.namespace };
  if (ev.type === 'Put') {
    const created = ev.kv.version === '1' || String(ev.kv.create_revision) === String(ev.kv.mod_revision);
    const prev = !created && ev.prev_kv?.value?.length ? JSON.stringify(decodeObject(ev.prev_kv)) : null;
    return { ...base, type: created ? 'ADDED' : 'MODIFIED', data: JSON.stringify(decodeObject(ev.kv)), prev };
  }
  // A delete carries the last stored state (prev_kv) at the deletion revision. An object released by
  // its last finalizer was stored with finalizers; what was deleted had none.
  const last: KubeObject = ev.prev_kv?.value?.length
    ? decodeObject(ev.prev_kv, String(rev))
    : ({ metadata: { name: k.name, ...(k.namespace ? { namespace: k.namespace } : {}), resourceVersion: String(rev) } } as KubeObject);
  if (last.metadata.deletionTimestamp && last.metadata.finalizers?.length) delete last.metadata.finalizers;
  return { ...base, type: 'DELETED', data: JSON.stringify(last), prev: null };
}

export function goneEvent(message: string): WatchEvent {
  return { type: 'ERROR', object: new Gone(message).toStatus() as unknown as KubeObject };
}

function isCompacted(err: unknown): boolean {
  return /compact/i.test(String((err as Error)?.message ?? err));
}

/**
 * etcd3 resumes a broken stream from the last response header's revision + 1, which skips events
 * when the stream broke during a catch-up; resume from the last revision actually handled instead.
 */
function resumeFrom(w: EtcdWatcher, rev: () => number): void {
  w.on('disconnected', () => {
    (w.request as { start_revision?: string | number }).start_revision = String(rev() + 1);
  });
}

export interface WatchCacheOptions {
  client: Etcd3;
  keys: EtcdKeys;
  /** Events kept in memory for replay. */
  size: number;
  /** Current etcd revision (a linearizable read). */
  revision: () => Promise<number>;
  /** A stream problem worth logging (the watchers were told with an ERROR event). */
  onReset?: (err: unknown) => void;
}

export class EtcdWatchCache {
  private readonly o: WatchCacheOptions;
  private readonly hub = new WatchHub();
  private window: StoredEvent[] = [];
  private watcher?: EtcdWatcher;
  private closed = false;
  /** Every event with a revision above this is in the window (up to `seen`). */
  floor = 0;
  /** Every event up to this revision has been published. */
  seen = 0;

  constructor(o: WatchCacheOptions) {
    this.o = o;
  }

  get watchers(): number {
    return this.hub.size;
  }

  async start(fromRev: number): Promise<void> {
    this.floor = this.seen = fromRev;
    this.window = [];
    const w = await this.o.client.watch().prefix(this.o.keys.prefix).startRevision(String(fromRev + 1)).withPreviousKV().create();
    if (this.closed) {
      await w.cancel();
      return;
    }
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => this.onData(res));
    resumeFrom(w, () => this.seen);
    w.on('error', (err) => void this.reset(err));
  }

  private onData(res: IWatchResponse): void {
    if (this.closed) return;
    if (!res.events.length) {
      // A progress notification: nothing at or below this revision is still to come.
      this.seen = Math.max(this.seen, Number(res.header.revision));
      return;
    }
    const before = this.seen;
    let top = before;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= before) continue; // replayed after a reconnect
      top = Math.max(top, rev);
      let se: StoredEvent | undefined;
      try {
        se = toStoredEvent(this.o.keys, ev);
      } catch (err) {
        this.o.onReset?.(new Error(`undecodable value at ${ev.kv.key.toString()}`, { cause: err }));
        continue;
      }
      if (!se) continue;
      this.window.push(se);
      this.seen = Math.max(this.seen, rev);
      this.hub.publish(se);
    }
    this.seen = Math.max(this.seen, top);
    if (this.window.length > this.o.size) {
      const drop = this.window.length - this.o.size;
      this.floor = this.window[drop - 1].rev;
      this.window = this.window.slice(drop);
    }
  }

  /** The stream lost its place: tell every watcher to relist, then follow etcd from now. */
  private async reset(err: unknown): Promise<void> {
    if (this.closed) return;
    this.watcher = undefined;
    this.o.onReset?.(err);
    this.hub.failAll(goneEvent(`too old resource version: ${this.seen} (the store's watch stream was reset: ${String((err as Error)?.message ?? err)})`));
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.start(await this.o.revision());
        return;
      } catch (e) {
        this.o.onReset?.(e);
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Window events after `after` for `resource` ('*' = all), one page. */
  private history(after: number, resource: string): StoredEvent[] {
    let lo = 0;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.window[mid].rev <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: StoredEvent[] = [];
    for (let i = lo; i < this.window.length && out.length < HISTORY_PAGE; i++) {
      if (resource === '*' || this.window[i].resource === resource) out.push(this.window[i]);
    }
    return out;
  }

  /** Whether a watch from `rev` can replay from memory. */
  covers(rev: number): boolean {
    return this.watcher !== undefined && rev >= this.floor;
  }

  add(resource: string, filter: WatchFilter, afterRev: number, handler: (ev: WatchEvent) => void, bookmarkIntervalMs?: number): Watcher {
    return this.hub.add({
      resource, filter, afterRev, handler, bookmarkIntervalMs,
      readHistory: (after) => this.history(after, resource),
      currentRev: () => this.seen,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.stopAll();
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => undefined);
  }
}

/** A watch from before the cache window: its own etcd watch, replayed by etcd. */
export async function watchFromHistory(o: {
  client: Etcd3;
  keys: EtcdKeys;
  resource: string;
  filter: WatchFilter;
  afterRev: number;
  handler: (ev: WatchEvent) => void;
  bookmarkIntervalMs?: number;
  onStop: (w: Watcher) => void;
}): Promise<Watcher> {
  const prefix = o.resource === '*' ? o.keys.prefix : o.keys.resource(o.resource);
  let w: EtcdWatcher;
  try {
    w = await o.client.watch().prefix(prefix).startRevision(String(o.afterRev + 1)).withPreviousKV().create();
  } catch (err) {
    if (isCompacted(err)) throw new Gone(`too old resource version: ${o.afterRev} (etcd compacted its history)`, undefined, { cause: err });
    throw err;
  }
  let lastRev = o.afterRev;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const watcher: Watcher = {
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      void w.cancel().catch(() => undefined);
      o.onStop(watcher);
    },
  };
  const emit = (ev: WatchEvent) => {
    try {
      o.handler(ev);
    } catch {
      // A throwing handler ends its own watch only (the Store contract).
      watcher.stop();
    }
  };
  w.on('data', (res: IWatchResponse) => {
    if (stopped) return;
    if (!res.events.length) {
      lastRev = Math.max(lastRev, Number(res.header.revision));
      return;
    }
    const before = lastRev;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= before || stopped) continue;
      lastRev = Math.max(lastRev, rev);
      let se: StoredEvent | undefined;
      try {
        se = toStoredEvent(o.keys, ev);
      } catch {
        continue;
      }
      if (!se || (o.resource !== '*' && se.resource !== o.resource)) continue;
      const out = translate(se, o.filter);
      if (out) emit(out);
    }
  });
  resumeFrom(w, () => lastRev);
  w.on('error', (err) => {
    if (stopped) return;
    emit(goneEvent(`too old resource version: ${lastRev} (${String((err as Error)?.message ?? err)})`));
    watcher.stop();
  });
  if (o.bookmarkIntervalMs && o.bookmarkIntervalMs > 0) {
    timer = setInterval(() => {
      if (!stopped) emit({ type: 'BOOKMARK', object: { kind: '', apiVersion: '', metadata: { resourceVersion: String(lastRev) } as KubeObject['metadata'] } });
    }, o.bookmarkIntervalMs);
    timer.unref();
  }
  return watcher;
}

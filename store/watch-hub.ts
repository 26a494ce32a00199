// In-process fan-out of committed store events to watchers, with selector filtering.
// Events are queued and drained in revision order, so a handler that writes to the store
// (re-entrantly) never sees events out of order and every watcher sees the same order.
import type { FieldSelector, LabelSelector } from '../core/selectors.ts';
import { matchesFields, matchesLabels } from '../core/selectors.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { Watcher } from '../core/store.ts';

export interface StoredEvent {
  rev: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** '' for cluster-scoped objects. */
  namespace: string;
  /** Object JSON; its resourceVersion is `rev`. */
  data: string;
  /** For MODIFIED: the previous object JSON (needed to tell "left the selector" from "changed"). */
  prev: string | null;
}

export interface WatchFilter {
  namespace?: string;
  label?: LabelSelector;
  field?: FieldSelector;
}

export interface AddWatcherOptions {
  resource: string;
  filter: WatchFilter;
  /** Deliver only events with a revision above this. */
  afterRev: number;
  /** Reads retained history after a revision, in order, in pages (empty = done). */
  readHistory: (afterRev: number) => StoredEvent[];
  bookmarkIntervalMs?: number;
  currentRev: () => number;
  handler: (ev: WatchEvent) => void;
}

class HubWatcher implements Watcher {
  stopped = false;
  private replaying = true;
  private buffer: StoredEvent[] = [];
  private lastRev: number;
  private timer?: NodeJS.Timeout;
  private readonly o: AddWatcherOptions;
  private readonly onStop: (w: HubWatcher) => void;

  constructor(o: AddWatcherOptions, onStop: (w: HubWatcher) => void) {
    this.o = o;
    this.onStop = onStop;
    this.lastRev = o.afterRev;
  }

  /** Replay history, then the events that arrived meanwhile, then go live. */
  start(): void {
    for (let page = this.o.readHistory(this.lastRev); page.length > 0 && !this.stopped; page = this.o.readHistory(this.lastRev)) {
      for (const e of page) this.deliver(e);
    }
    while (this.buffer.length > 0 && !this.stopped) {
      const pending = this.buffer;
      this.buffer = [];
      for (const e of pending) this.deliver(e);
    }
    this.replaying = false;
    if (this.o.bookmarkIntervalMs && this.o.bookmarkIntervalMs > 0 && !this.stopped) {
      this.timer = setInterval(() => this.bookmark(), this.o.bookmarkIntervalMs);
      this.timer.unref();
    }
  }

  offer(e: StoredEvent): void {
    if (this.stopped || (this.o.resource !== '*' && e.resource !== this.o.resource)) return;
    if (this.replaying) this.buffer.push(e);
    else this.deliver(e);
  }

  private deliver(e: StoredEvent): void {
    if (this.stopped || e.rev <= this.lastRev) return;
    this.lastRev = e.rev;
    if (this.o.resource !== '*' && e.resource !== this.o.resource) return;
    const ev = translate(e, this.o.filter);
    if (ev) this.emit(ev);
  }

  private bookmark(): void {
    const rev = Math.max(this.lastRev, this.o.currentRev());
    this.emit({ type: 'BOOKMARK', object: { kind: '', apiVersion: '', metadata: { resourceVersion: String(rev) } as KubeObject['metadata'] } });
  }

  private emit(ev: WatchEvent): void {
    try {
      this.o.handler(ev);
    } catch (err) {
      // The contract: a throwing handler ends its own watch only; the caller owns reporting it.
      void err;
      this.stop();
    }
  }

  /** Deliver a last event (an ERROR with a Status) and stop. */
  fail(ev: WatchEvent): void {
    if (this.stopped) return;
    this.emit(ev);
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.buffer = [];
    this.onStop(this);
  }
}

function matches(obj: KubeObject, f: WatchFilter): boolean {
  return (!f.label || matchesLabels(f.label, obj.metadata?.labels)) && (!f.field || matchesFields(f.field, obj));
}

/** Kubernetes watch semantics: a MODIFIED that leaves the selector is DELETED, one that enters it is ADDED. */
export function translate(e: StoredEvent, f: WatchFilter): WatchEvent | undefined {
  if (f.namespace !== undefined && e.namespace !== f.namespace) return undefined;
  const obj = JSON.parse(e.data) as KubeObject;
  if (!f.label && !f.field) return { type: e.type, object: obj };
  const now = matches(obj, f);
  if (e.type !== 'MODIFIED' || e.prev === null) return now ? { type: e.type, object: obj } : undefined;
  const prev = JSON.parse(e.prev) as KubeObject;
  const before = matches(prev, f);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: obj };
  if (!before) return undefined;
  prev.metadata.resourceVersion = obj.metadata.resourceVersion;
  return { type: 'DELETED', object: prev };
}

export class WatchHub {
  private readonly watchers = new Set<HubWatcher>();
  private readonly queue: StoredEvent[] = [];
  private draining = false;

  get size(): number {
    return this.watchers.size;
  }

  add(o: AddWatcherOptions): Watcher {
    const w = new HubWatcher(o, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    w.start();
    return w;
  }

  publish(e: StoredEvent): void {
    this.queue.push(e);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        for (const w of [...this.watchers]) w.offer(this.queue[i]);
      }
    } finally {
      this.queue.length = 0;
      this.draining = false;
    }
  }

  stopAll(): void {
    for (const w of [...this.watchers]) w.stop();
  }

  /** End every watcher with a last event (e.g. an ERROR carrying a 410 Status: the client relists). */
  failAll(ev: WatchEvent): void {
    for (const w of [...this.watchers]) w.fail(ev);
  }
}

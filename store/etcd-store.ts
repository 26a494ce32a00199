// The etcd Store (several managers share one etcd): every object is one key (layout in etcd-keys.ts)
// whose value is the object's JSON; resourceVersion is the key's mod revision and a list's
// resourceVersion is the etcd revision it was read at. Every write is one etcd transaction that
// compares the key's create or mod revision (optimistic concurrency: 409 Conflict like SQLite) and,
// in a fenced view, the leader's election key (NotLeader). Object rules are shared with SQLite
// (object-rules.ts); watches come from etcd-watch.ts.
import { randomUUID } from 'node:crypto';
import { Etcd3, Range, type IKeyValue, type IRangeResponse, type ITxnResponse } from 'etcd3';
import type { DeleteOptions, FenceGuard, ListOptions, ListResult, ResourceKey, Store, Watcher, WatchOptions } from '../core/store.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import { Gone, NotLeader } from '../core/errors.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../core/selectors.ts';
import { alreadyExists, modifiedConflict, notFound } from './store-errors.ts';
import { GENERATE_NAME_ATTEMPTS, cleanCopy, generatedName, nameRequired, nsOf, parseRevision, planDelete, planUpdate, stampNew, type WritePlan } from './object-rules.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { DEFAULT_ETCD_PREFIX, EtcdKeys, prefixEnd } from './etcd-keys.ts';
import { EtcdWatchCache, decodeObject, watchFromHistory } from './etcd-watch.ts';
import { parseEndpoints } from './etcd-endpoints.ts';
import type { WatchFilter } from './watch-hub.ts';
import { byRevision, type StoredObject, type TransferableStore } from './transfer.ts';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ['http://127.0.0.1:2379']. Ignored when `client` is given. */
  endpoints?: string[];
  /** Use this client (e.g. shared with leader election); the store then does not close it. */
  client?: Etcd3;
  /** Key prefix, default `/drover/` (must end with "/"). */
  prefix?: string;
  /**
   * Watch history kept in etcd (default 10000 revisions): every `compactIntervalMs` the store compacts
   * etcd to `revision - historySize`, so watching from older revisions answers Gone, as with SQLite.
   */
  historySize?: number;
  /** How often to compact (default 60 s); 0 = never (compact() still works). */
  compactIntervalMs?: number;
  /** Recent events kept in memory so watches from them replay without asking etcd (default 2000). */
  watchCacheSize?: number;
  /** Milliseconds since the epoch, for creation/deletion timestamps. */
  clock?: () => number;
  /** Deadline of each etcd call (default 15 s). */
  requestTimeoutMs?: number;
  /** Told about watch-stream resets and failed background compactions. */
  onWarning?: (message: string, err: unknown) => void;
}

export interface EtcdStoreStats {
  watchers: number;
  /** Revision up to which the shared watch stream has delivered every event. */
  watchedRevision: number;
  /** Watching from a revision below this replays from memory only if at or above; else from etcd. */
  watchCacheFloor: number;
}

export interface EtcdStore extends TransferableStore {
  readonly client: Etcd3;
  readonly keys: EtcdKeys;
  fenced(guard: FenceGuard): Store;
  /** The revision below which history is gone (compaction mark); 0 if never compacted. */
  compactedRevision(): Promise<number>;
  stats(): EtcdStoreStats;
}

const SCAN_PAGE = 500;
const UPDATE_ATTEMPTS = 16;
const COMPACTED_KEY = 'compacted';

/** An etcd3 client whose unary calls have a deadline (streams have none). */
export function connectEtcd(endpoints: string[], requestTimeoutMs = 15_000): Etcd3 {
  return new Etcd3({
    hosts: parseEndpoints(endpoints),
    dialTimeout: Math.min(requestTimeoutMs, 5_000),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
  });
}

export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStore> {
  if (!opts.client && !opts.endpoints?.length) throw new RangeError('openEtcdStore needs endpoints or a client');
  const historySize = opts.historySize ?? 10000;
  if (!Number.isInteger(historySize) || historySize < 1) throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
  const client = opts.client ?? connectEtcd(opts.endpoints!, opts.requestTimeoutMs);
  const shared = new Shared(client, !opts.client, new EtcdKeys(opts.prefix ?? DEFAULT_ETCD_PREFIX), opts, historySize);
  try {
    await shared.open();
  } catch (e) {
    await shared.close();
    const where = opts.endpoints?.join(',') ?? 'the given client';
    throw new Error(`cannot open the etcd store at ${where}: ${(e as Error).message}`, { cause: e });
  }
  return new EtcdStoreImpl(shared);
}

type TxnOutcome = { ok: true; rev: string } | { ok: false; notLeader: boolean; current?: IKeyValue };

/** What the store and its fenced views share: the client, the watch cache, the compaction timer. */
class Shared {
  readonly client: Etcd3;
  readonly ownsClient: boolean;
  readonly keys: EtcdKeys;
  readonly clock: () => number;
  readonly cache: EtcdWatchCache;
  readonly direct = new Set<Watcher>();
  private readonly opts: EtcdStoreOptions;
  private readonly historySize: number;
  private timer?: NodeJS.Timeout;
  closed = false;

  constructor(client: Etcd3, ownsClient: boolean, keys: EtcdKeys, opts: EtcdStoreOptions, historySize: number) {
    this.client = client;
    this.ownsClient = ownsClient;
    this.keys = keys;
    this.opts = opts;
    this.historySize = historySize;
    this.clock = opts.clock ?? Date.now;
    this.cache = new EtcdWatchCache({
      client, keys, size: opts.watchCacheSize ?? 2000, revision: () => this.revision(),
      onReset: (err) => this.warn('etcd watch stream reset', err),
    });
  }

  warn(message: string, err: unknown): void {
    this.opts.onWarning?.(message, err);
  }

  async open(): Promise<void> {
    await this.cache.start(await this.revision());
    const every = this.opts.compactIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.autoCompact(), every);
      this.timer.unref();
    }
  }

  private async autoCompact(): Promise<void> {
    try {
      const target = (await this.revision()) - this.historySize;
      if (target > (await this.compacted())) await this.compact(target, undefined);
    } catch (e) {
      this.warn('etcd compaction failed', e);
    }
  }

  /** A linearizable read of the current revision: a range over one key that never exists. */
  async revision(): Promise<number> {
    this.check();
    const r = await this.client.get(this.keys.meta('revision')).exec();
    return Number(r.header.revision);
  }

  async compacted(): Promise<number> {
    const r = await this.client.get(this.keys.meta(COMPACTED_KEY)).exec();
    return r.kvs.length ? Number(r.kvs[0].value.toString()) : 0;
  }

  async compact(upTo: number, guard: FenceGuard | undefined): Promise<void> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const key = this.keys.meta(COMPACTED_KEY);
      const r = await this.client.get(key).exec();
      const cur = r.kvs[0];
      if (cur && Number(cur.value.toString()) >= upTo) return;
      // The mark first (watchers and continue tokens check it), then etcd's own compaction.
      const out = await this.txn(key, cur ? { target: 'Mod', value: String(cur.mod_revision) } : { target: 'Create', value: '0' }, { put: String(upTo) }, guard);
      if (out.ok) {
        try {
          await this.client.kv.compact({ revision: String(upTo), physical: false });
        } catch (e) {
          // Someone (another manager, etcd's auto-compaction) compacted further already.
          if (!/compacted/i.test(String((e as Error).message))) throw e;
        }
        return;
      }
      if (out.notLeader) throw new NotLeader();
    }
    throw new Error('compaction mark kept changing: gave up');
  }

  check(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /**
   * One transaction: `key`'s create or mod revision compared, the fence (if any) compared, then a put
   * or a delete of `key`. On failure, reports whether the fence failed and the key's current state.
   */
  async txn(key: string, cmp: { target: 'Create' | 'Mod'; value: string }, op: { put: string } | { remove: true }, guard: FenceGuard | undefined): Promise<TxnOutcome> {
    this.check();
    const c = this.client;
    let b = c.if(key, cmp.target, '==', cmp.value);
    if (guard) b = b.and(guard.key, 'Create', '==', guard.createRevision);
    b = b.then('put' in op ? c.put(key).value(op.put) : c.delete().key(key));
    b = guard ? b.else(c.get(key), c.get(guard.key)) : b.else(c.get(key));
    const r: ITxnResponse = await b.commit();
    if (r.succeeded) return { ok: true, rev: String(r.header.revision) };
    const current = r.responses[0]?.response_range?.kvs?.[0];
    let notLeader = false;
    if (guard) {
      const g = r.responses[1]?.response_range?.kvs?.[0];
      notLeader = !g || String(g.create_revision) !== String(guard.createRevision);
    }
    return { ok: false, notLeader, current };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of [...this.direct]) w.stop();
    await this.cache.close();
    if (this.ownsClient) this.client.close();
  }
}

class EtcdStoreImpl implements EtcdStore {
  private readonly s: Shared;
  private readonly guard?: FenceGuard;

  constructor(shared: Shared, guard?: FenceGuard) {
    this.s = shared;
    this.guard = guard;
  }

  get client(): Etcd3 {
    return this.s.client;
  }

  get keys(): EtcdKeys {
    return this.s.keys;
  }

  fenced(guard: FenceGuard): Store {
    if (!guard || typeof guard.key !== 'string' || !/^\d+$/.test(String(guard.createRevision)) || guard.createRevision === '0') {
      throw new RangeError(`a fence needs a key and the positive create revision it was won with, got ${JSON.stringify(guard)}`);
    }
    return new EtcdStoreImpl(this.s, { key: guard.key, createRevision: String(guard.createRevision) });
  }

  private async read(key: string): Promise<{ obj: KubeObject; kv: IKeyValue } | undefined> {
    this.s.check();
    const r = await this.s.client.get(key).exec();
    const kv = r.kvs[0];
    return kv ? { obj: decodeObject(kv), kv } : undefined;
  }

  private encode(obj: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    return JSON.stringify({ ...obj, metadata });
  }

  /** Commit a plan against the version `kv` of the object; undefined = someone else wrote first. */
  private async commit(key: string, kv: IKeyValue, plan: WritePlan): Promise<KubeObject | undefined> {
    if (plan.action === 'none') return plan.obj;
    const value = plan.action === 'put' ? this.encode(plan.obj) : '';
    const out = await this.s.txn(key, { target: 'Mod', value: String(kv.mod_revision) }, plan.action === 'put' ? { put: value } : { remove: true }, this.guard);
    if (out.ok) {
      plan.obj.metadata.resourceVersion = out.rev;
      return plan.obj;
    }
    if (out.notLeader) throw new NotLeader();
    // A retried call whose first attempt committed finds its own value: that is success.
    if (plan.action === 'put' && out.current && out.current.value.toString('utf8') === value) {
      plan.obj.metadata.resourceVersion = String(out.current.mod_revision);
      return plan.obj;
    }
    return undefined;
  }

  async create(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    const obj = cleanCopy(input);
    const m = obj.metadata;
    const ns = nsOf(obj);
    const generate = !m.name;
    if (generate && !m.generateName) throw nameRequired(resource);
    stampNew(obj, randomUUID(), this.s.clock());
    for (let attempt = 0; attempt < (generate ? GENERATE_NAME_ATTEMPTS : 1); attempt++) {
      if (generate) m.name = generatedName(m.generateName!);
      const key = this.s.keys.object(resource, ns, m.name);
      const value = this.encode(obj);
      const out = await this.s.txn(key, { target: 'Create', value: '0' }, { put: value }, this.guard);
      if (out.ok) {
        m.resourceVersion = out.rev;
        return obj;
      }
      if (out.notLeader) throw new NotLeader();
      if (out.current && out.current.value.toString('utf8') === value) {
        m.resourceVersion = String(out.current.mod_revision);
        return obj; // our own earlier attempt (the uid is ours)
      }
      if (!generate) throw alreadyExists(resource, m.name);
    }
    throw alreadyExists(resource, `${m.generateName}*`);
  }

  async get(resource: ResourceKey, namespace: string | undefined, name: string): Promise<KubeObject> {
    const found = await this.read(this.s.keys.object(resource, namespace ?? '', name));
    if (!found) throw notFound(resource, name);
    return found.obj;
  }

  async update(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    const clean = cleanCopy(input);
    const name = clean.metadata.name;
    const key = this.s.keys.object(resource, nsOf(clean), name);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const found = await this.read(key);
      if (!found) throw notFound(resource, name);
      // planUpdate fills in the stored metadata: every attempt starts from the caller's version.
      const next = JSON.parse(JSON.stringify(clean)) as KubeObject;
      const plan = planUpdate(resource, found.obj, next);
      const done = await this.commit(key, found.kv, plan);
      if (done) return done;
      // Changed between our read and our write: with the caller's resourceVersion that is a
      // Conflict (planUpdate says so on the next read); without one the update applies to the latest.
    }
    throw modifiedConflict(resource, name);
  }

  async delete(resource: ResourceKey, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const key = this.s.keys.object(resource, namespace ?? '', name);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const found = await this.read(key);
      if (!found) throw notFound(resource, name);
      const plan = planDelete(resource, name, found.obj, opts, this.s.clock());
      const done = await this.commit(key, found.kv, plan);
      if (done) return done;
    }
    throw modifiedConflict(resource, name);
  }

  async list(resource: ResourceKey, opts: ListOptions = {}): Promise<ListResult> {
    this.s.check();
    const label = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const field = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : undefined;
    const limit = opts.limit && opts.limit > 0 ? Math.floor(opts.limit) : 0;
    const token = opts.continue ? decodeContinue(opts.continue) : undefined;
    if (token && token.rev < (await this.s.compacted())) {
      throw new Gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
    }
    const keys = this.s.keys;
    // namespace '' = cluster-scoped objects only: their keys have no namespace segment.
    const base = opts.namespace ? keys.namespace(resource, opts.namespace) : keys.resource(resource);
    const end = prefixEnd(base);
    let start: Buffer = Buffer.from(base);
    if (token) {
      const after = Buffer.concat([Buffer.from(keys.object(resource, token.ns, token.name)), Buffer.from([0])]);
      if (Buffer.compare(after, start) > 0) start = after;
    }
    const keep = (obj: KubeObject) =>
      (opts.namespace !== '' || !obj.metadata.namespace) && (!label || matchesLabels(label, obj.metadata.labels)) && (!field || matchesFields(field, obj));
    const filtered = Boolean(label || field || opts.namespace === '');

    const items: KubeObject[] = [];
    let remaining = 0;
    let rev: string | undefined;
    // Pages of at most SCAN_PAGE keys, all read at the first page's revision: one consistent snapshot.
    for (;;) {
      const want = filtered || !limit ? SCAN_PAGE : Math.min(SCAN_PAGE, limit - items.length);
      let q = this.s.client.getAll().inRange(new Range(start, end)).limit(want);
      if (rev) q = q.revision(rev);
      const r: IRangeResponse = await q.exec();
      rev ??= String(r.header.revision);
      for (const kv of r.kvs) {
        const obj = decodeObject(kv);
        if (filtered && !keep(obj)) continue;
        if (!limit || items.length < limit) items.push(obj);
        else remaining++;
      }
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || !last) break;
      if (!filtered && limit && items.length >= limit) {
        // count is every key in [start, end): those after this page remain.
        remaining = Number(r.count) - r.kvs.length;
        break;
      }
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    const result: ListResult = { items, resourceVersion: rev! };
    if (remaining > 0) {
      const last = items[items.length - 1];
      result.continue = encodeContinue({ rev: token?.rev ?? Number(rev), ns: nsOf(last), name: last.metadata.name });
      result.remainingItemCount = remaining;
    }
    return result;
  }

  async watch(resource: ResourceKey | '*', opts: WatchOptions, handler: (ev: WatchEvent) => void): Promise<Watcher> {
    this.s.check();
    const filter: WatchFilter = {
      namespace: opts.namespace,
      label: opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined,
      field: opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : undefined,
    };
    const rv = opts.resourceVersion;
    let from: number;
    if (rv === undefined || rv === '' || rv === '0') {
      from = await this.s.revision();
    } else {
      from = parseRevision(rv, 'resourceVersion');
      const compacted = await this.s.compacted();
      if (from < compacted) throw new Gone(`too old resource version: ${from} (${compacted})`);
    }
    this.s.check();
    if (this.s.cache.covers(from)) return this.s.cache.add(resource, filter, from, handler, opts.bookmarkIntervalMs);
    const w = await watchFromHistory({
      client: this.s.client, keys: this.s.keys, resource, filter, afterRev: from, handler,
      bookmarkIntervalMs: opts.bookmarkIntervalMs, onStop: (x) => this.s.direct.delete(x),
    });
    this.s.direct.add(w);
    return w;
  }

  async revision(): Promise<string> {
    return String(await this.s.revision());
  }

  async compactedRevision(): Promise<number> {
    this.s.check();
    return this.s.compacted();
  }

  async compact(revision: string): Promise<void> {
    const upTo = Math.min(parseRevision(revision, 'revision'), await this.s.revision());
    await this.s.compact(upTo, this.guard);
  }

  /** Every object key-value under the prefix, read in pages at one revision. */
  private async scanObjects(visit: (kv: IKeyValue, resource: string) => void): Promise<void> {
    const keys = this.s.keys;
    const end = prefixEnd(keys.prefix);
    let start = Buffer.from(keys.prefix);
    let rev: string | undefined;
    for (;;) {
      let q = this.s.client.getAll().inRange(new Range(start, end)).limit(SCAN_PAGE);
      if (rev) q = q.revision(rev);
      const r = await q.exec();
      rev ??= String(r.header.revision);
      for (const kv of r.kvs) {
        const k = keys.parse(kv.key.toString('utf8'));
        if (k) visit(kv, k.resource);
      }
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || !last) return;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  async exportObjects(): Promise<StoredObject[]> {
    this.s.check();
    const out: StoredObject[] = [];
    await this.scanObjects((kv, resource) => out.push({ resource, object: decodeObject(kv) }));
    return out.sort(byRevision);
  }

  async countObjects(): Promise<number> {
    this.s.check();
    let n = 0;
    await this.scanObjects(() => n++);
    return n;
  }

  async importObject(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    this.s.check();
    const obj = cleanCopy(input);
    if (!obj.metadata.name) throw nameRequired(resource);
    delete obj.metadata.resourceVersion;
    const r = await this.s.client.put(this.s.keys.object(resource, nsOf(obj), obj.metadata.name)).value(this.encode(obj)).exec();
    obj.metadata.resourceVersion = String(r.header.revision);
    return obj;
  }

  stats(): EtcdStoreStats {
    return { watchers: this.s.cache.watchers + this.s.direct.size, watchedRevision: this.s.cache.seen, watchCacheFloor: this.s.cache.floor };
  }

  async close(): Promise<void> {
    // A fenced view shares the store: closing the view leaves the store open.
    if (this.guard) return;
    await this.s.close();
  }
}

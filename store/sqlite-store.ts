// The embedded Store: one SQLite file (node:sqlite, WAL). Every write is one transaction that
// stores the object and its watch event, so watches resume from any retained revision after a restart.
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import type { DeleteOptions, ListOptions, ListResult, ResourceKey, Store, Watcher, WatchOptions } from '../core/store.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import { Gone } from '../core/errors.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldSelector, type LabelSelector } from '../core/selectors.ts';
import { alreadyExists, notFound } from './store-errors.ts';
import { GENERATE_NAME_ATTEMPTS, cleanCopy, generatedName, nameRequired, nsOf, parseRevision, planDelete, planUpdate, stampNew } from './object-rules.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import type { StoredEvent, WatchFilter } from './watch-hub.ts';
import { WatchHub } from './watch-hub.ts';
import { byRevision, type StoredObject, type TransferableStore } from './transfer.ts';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' (history then lives as long as the process). */
  path: string;
  /** Watch events kept for resuming watches (default 10000); older ones are compacted away. */
  historySize?: number;
  /** FULL (default) makes every acknowledged write survive power loss; NORMAL only process crashes. */
  synchronous?: 'FULL' | 'NORMAL';
  /** Milliseconds since the epoch, for creation/deletion timestamps. */
  clock?: () => number;
}

export interface StoreStats {
  objects: number;
  watchers: number;
  revision: number;
  /** Watching from a revision below this answers Gone. */
  compactedRevision: number;
}

export interface SqliteStore extends TransferableStore {
  stats(): StoreStats;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (resource, namespace, name);
CREATE TABLE IF NOT EXISTS events (
  rev INTEGER PRIMARY KEY, resource TEXT NOT NULL, type TEXT NOT NULL, namespace TEXT NOT NULL,
  data TEXT NOT NULL, prev TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1), ('compacted', 1);
`;

const HISTORY_PAGE = 500;

type Row = { data: string };

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const historySize = opts.historySize ?? 10000;
  if (!Number.isInteger(historySize) || historySize < 1) throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
  const db = new DatabaseSync(opts.path);
  try {
    db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=${opts.synchronous ?? 'FULL'}; PRAGMA busy_timeout=5000;`);
    db.exec(SCHEMA);
  } catch (e) {
    db.close();
    throw new Error(`cannot open store ${opts.path}`, { cause: e });
  }
  return new SqliteStoreImpl(db, historySize, opts.clock ?? Date.now);
}

class SqliteStoreImpl implements SqliteStore {
  private readonly db: DatabaseSync;
  private readonly historySize: number;
  private readonly clock: () => number;
  private readonly hub = new WatchHub();
  private readonly stmts = new Map<string, StatementSync>();
  private rev: number;
  private compacted: number;
  private closed = false;

  constructor(db: DatabaseSync, historySize: number, clock: () => number) {
    this.db = db;
    this.historySize = historySize;
    this.clock = clock;
    this.compacted = Number((this.q('SELECT value FROM meta WHERE key = ?').get('compacted') as { value: number }).value);
    const maxRev = (this.q('SELECT MAX(rev) AS rev FROM events').get() as { rev: number | null }).rev ?? 0;
    this.rev = Math.max(this.compacted, maxRev);
  }

  /** Prepared statements are cached by their SQL text. */
  private q(sql: string): StatementSync {
    if (this.closed) throw new Error('store is closed');
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private read(resource: string, ns: string, name: string): { obj: KubeObject; data: string } | undefined {
    const row = this.q('SELECT data FROM objects WHERE resource = ? AND namespace = ? AND name = ?').get(resource, ns, name) as Row | undefined;
    return row ? { obj: JSON.parse(row.data) as KubeObject, data: row.data } : undefined;
  }

  /** One transaction: the object change, its event, and history trimming. Returns after COMMIT. */
  private commit(resource: string, type: StoredEvent['type'], obj: KubeObject, prev: string | null, op: 'insert' | 'update' | 'delete'): KubeObject {
    const rev = this.rev + 1;
    obj.metadata.resourceVersion = String(rev);
    const data = JSON.stringify(obj);
    const ns = nsOf(obj);
    const name = obj.metadata.name;
    const compactTo = rev - this.historySize;
    this.q('BEGIN IMMEDIATE').run();
    try {
      if (op === 'insert') this.q('INSERT INTO objects (resource, namespace, name, data) VALUES (?, ?, ?, ?)').run(resource, ns, name, data);
      else if (op === 'update') this.q('UPDATE objects SET data = ? WHERE resource = ? AND namespace = ? AND name = ?').run(data, resource, ns, name);
      else this.q('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?').run(resource, ns, name);
      this.q('INSERT INTO events (rev, resource, type, namespace, data, prev) VALUES (?, ?, ?, ?, ?, ?)').run(rev, resource, type, ns, data, prev);
      if (compactTo > this.compacted) this.trimHistory(compactTo);
      this.q('COMMIT').run();
    } catch (e) {
      if (this.db.isTransaction) this.q('ROLLBACK').run();
      throw new Error(`store write failed for ${resource} "${name}"`, { cause: e });
    }
    this.rev = rev;
    if (compactTo > this.compacted) this.compacted = compactTo;
    this.hub.publish({ rev, resource, type, namespace: ns, data, prev });
    return obj;
  }

  private trimHistory(upTo: number): void {
    this.q('DELETE FROM events WHERE rev <= ?').run(upTo);
    this.q("UPDATE meta SET value = ? WHERE key = 'compacted'").run(upTo);
  }

  async create(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    const obj = cleanCopy(input);
    const m = obj.metadata;
    const ns = nsOf(obj);
    if (!m.name) {
      if (!m.generateName) throw nameRequired(resource);
      m.name = this.generateName(resource, ns, m.generateName);
    } else if (this.read(resource, ns, m.name)) {
      throw alreadyExists(resource, m.name);
    }
    stampNew(obj, randomUUID(), this.clock());
    return this.commit(resource, 'ADDED', obj, null, 'insert');
  }

  private generateName(resource: string, ns: string, prefix: string): string {
    for (let attempt = 0; attempt < GENERATE_NAME_ATTEMPTS; attempt++) {
      const name = generatedName(prefix);
      if (!this.read(resource, ns, name)) return name;
    }
    throw alreadyExists(resource, `${prefix}*`);
  }

  async get(resource: ResourceKey, namespace: string | undefined, name: string): Promise<KubeObject> {
    const found = this.read(resource, namespace ?? '', name);
    if (!found) throw notFound(resource, name);
    return found.obj;
  }

  async list(resource: ResourceKey, opts: ListOptions = {}): Promise<ListResult> {
    const label = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const field = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : undefined;
    const limit = opts.limit && opts.limit > 0 ? Math.floor(opts.limit) : 0;
    const token = opts.continue ? decodeContinue(opts.continue) : undefined;
    if (token && token.rev < this.compacted) {
      throw new Gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
    }
    let where = 'resource = ?';
    const params: (string | number)[] = [resource];
    if (opts.namespace !== undefined) { where += ' AND namespace = ?'; params.push(opts.namespace); }
    if (token) { where += ' AND (namespace, name) > (?, ?)'; params.push(token.ns, token.name); }
    const items: KubeObject[] = [];
    let remaining = 0;
    if (!label && !field) {
      const rows = this.q(`SELECT data FROM objects WHERE ${where} ORDER BY namespace, name LIMIT ?`).all(...params, limit || -1) as Row[];
      for (const r of rows) items.push(JSON.parse(r.data) as KubeObject);
      if (limit && items.length === limit) {
        remaining = (this.q(`SELECT COUNT(*) AS n FROM objects WHERE ${where}`).get(...params) as { n: number }).n - limit;
      }
    } else {
      // Selectors need the parsed object; the remaining count needs every later match too. An equality
      // requirement's value must appear, JSON-quoted, in the stored text: rows without it are skipped unparsed.
      const needles = mustContain(label, field);
      for (const r of this.q(`SELECT data FROM objects WHERE ${where} ORDER BY namespace, name`).iterate(...params) as Iterable<Row>) {
        if (needles.some((n) => !r.data.includes(n))) continue;
        const obj = JSON.parse(r.data) as KubeObject;
        if ((label && !matchesLabels(label, obj.metadata.labels)) || (field && !matchesFields(field, obj))) continue;
        if (!limit || items.length < limit) items.push(obj);
        else remaining++;
      }
    }
    const result: ListResult = { items, resourceVersion: String(this.rev) };
    if (remaining > 0) {
      const last = items[items.length - 1];
      result.continue = encodeContinue({ rev: token?.rev ?? this.rev, ns: nsOf(last), name: last.metadata.name });
      result.remainingItemCount = remaining;
    }
    return result;
  }

  async update(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    const next = cleanCopy(input);
    const found = this.read(resource, nsOf(next), next.metadata.name);
    if (!found) throw notFound(resource, next.metadata.name);
    const plan = planUpdate(resource, found.obj, next);
    if (plan.action === 'none') return plan.obj;
    if (plan.action === 'remove') return this.commit(resource, 'DELETED', plan.obj, null, 'delete');
    return this.commit(resource, 'MODIFIED', plan.obj, found.data, 'update');
  }

  async delete(resource: ResourceKey, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const found = this.read(resource, namespace ?? '', name);
    if (!found) throw notFound(resource, name);
    const plan = planDelete(resource, name, found.obj, opts, this.clock());
    if (plan.action === 'none') return plan.obj;
    if (plan.action === 'put') return this.commit(resource, 'MODIFIED', plan.obj, found.data, 'update');
    return this.commit(resource, 'DELETED', plan.obj, null, 'delete');
  }

  async watch(resource: ResourceKey | '*', opts: WatchOptions, handler: (ev: WatchEvent) => void): Promise<Watcher> {
    if (this.closed) throw new Error('store is closed');
    const filter: WatchFilter = {
      namespace: opts.namespace,
      label: opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined,
      field: opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : undefined,
    };
    const rv = opts.resourceVersion;
    const from = rv === undefined || rv === '' || rv === '0' ? this.rev : parseRevision(rv, 'resourceVersion');
    if (from < this.compacted) throw new Gone(`too old resource version: ${from} (${this.compacted})`);
    const sql = resource === '*'
      ? 'SELECT rev, resource, type, namespace, data, prev FROM events WHERE rev > ? ORDER BY rev LIMIT ?'
      : 'SELECT rev, resource, type, namespace, data, prev FROM events WHERE rev > ? AND resource = ? ORDER BY rev LIMIT ?';
    const readHistory = (after: number) =>
      (resource === '*' ? this.q(sql).all(after, HISTORY_PAGE) : this.q(sql).all(after, resource, HISTORY_PAGE)) as unknown as StoredEvent[];
    return this.hub.add({
      resource, filter, afterRev: from, readHistory, handler,
      bookmarkIntervalMs: opts.bookmarkIntervalMs, currentRev: () => this.rev,
    });
  }

  async revision(): Promise<string> {
    return String(this.rev);
  }

  async compact(revision: string): Promise<void> {
    const upTo = Math.min(parseRevision(revision, 'revision'), this.rev);
    if (upTo <= this.compacted) return;
    this.q('BEGIN IMMEDIATE').run();
    try {
      this.trimHistory(upTo);
      this.q('COMMIT').run();
    } catch (e) {
      if (this.db.isTransaction) this.q('ROLLBACK').run();
      throw new Error(`store compaction to ${upTo} failed`, { cause: e });
    }
    this.compacted = upTo;
  }

  async exportObjects(): Promise<StoredObject[]> {
    const rows = this.q('SELECT resource, data FROM objects').all() as { resource: string; data: string }[];
    return rows.map((r) => ({ resource: r.resource, object: JSON.parse(r.data) as KubeObject })).sort(byRevision);
  }

  async countObjects(): Promise<number> {
    return (this.q('SELECT COUNT(*) AS n FROM objects').get() as { n: number }).n;
  }

  async importObject(resource: ResourceKey, input: KubeObject): Promise<KubeObject> {
    const obj = cleanCopy(input);
    if (!obj.metadata.name) throw nameRequired(resource);
    delete obj.metadata.resourceVersion;
    const found = this.read(resource, nsOf(obj), obj.metadata.name);
    return found ? this.commit(resource, 'MODIFIED', obj, found.data, 'update') : this.commit(resource, 'ADDED', obj, null, 'insert');
  }

  stats(): StoreStats {
    const objects = (this.q('SELECT COUNT(*) AS n FROM objects').get() as { n: number }).n;
    return { objects, watchers: this.hub.size, revision: this.rev, compactedRevision: this.compacted };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.stopAll();
    this.stmts.clear();
    this.db.close();
  }
}

/**
 * Text every matching object's stored JSON must contain: the value of an equality requirement, as long as
 * JSON would store it verbatim (no quotes, backslashes or control characters). Numbers and booleans are
 * stored unquoted, so the bare value is used, never the quoted one.
 */
function mustContain(label: LabelSelector | undefined, field: FieldSelector | undefined): string[] {
  const verbatim = (v: string) => v !== '' && !/["\\\u0000-\u001f]/.test(v);
  const out: string[] = [];
  for (const r of label?.requirements ?? []) if (r.operator === 'In' && r.values.length === 1 && verbatim(r.values[0])) out.push(r.values[0]);
  for (const r of field?.requirements ?? []) if (r.operator === '=' && verbatim(r.value)) out.push(r.value);
  return out;
}

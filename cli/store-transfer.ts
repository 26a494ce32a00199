// `drover admin migrate-store|backup|restore`: copy every object between stores (SQLite ↔ etcd) or
// through a JSON-lines file, keeping each object's uid, creationTimestamp, generation, finalizers,
// deletion state and status, and the relative order of their revisions. resourceVersions change (each
// store counts its own revisions). The API tokens and the node-credential signing key go along, so
// node credentials and API tokens keep working after a move.
import { createReadStream, existsSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import type { KubeObject } from '../core/types.ts';
import type { TokenRecord } from '../api/auth.ts';
import type { TransferableStore, StoredObject } from '../store/transfer.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { parseEndpoints } from '../store/etcd-endpoints.ts';
import { DEFAULT_ETCD_PREFIX } from '../store/etcd-keys.ts';
import { CLIError, usageError } from './cli-error.ts';

export type StoreSpec = { kind: 'sqlite'; path: string } | { kind: 'etcd'; endpoints: string[]; prefix: string };

export const BACKUP_KIND = 'DroverBackup';
export const BACKUP_VERSION = 1;
const PROGRESS_EVERY = 100;

/** `sqlite:PATH` (a .db file, or a data dir holding drover.db) or `etcd:URL[,URL…]`. */
export function parseStoreSpec(spec: string, opts: { cwd?: string; etcdPrefix?: string; flag?: string } = {}): StoreSpec {
  const flag = opts.flag ?? '--store';
  const m = /^(sqlite|etcd):(.+)$/.exec(spec.trim());
  if (!m) throw usageError(`${flag} must be sqlite:PATH or etcd:http://HOST:PORT[,…] (got "${spec}")`);
  if (m[1] === 'sqlite') {
    let path = resolve(opts.cwd ?? process.cwd(), m[2]);
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'drover.db');
    return { kind: 'sqlite', path };
  }
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(m[2]);
  } catch (e) {
    throw usageError(`${flag}: ${(e as Error).message}`);
  }
  const prefix = opts.etcdPrefix ?? DEFAULT_ETCD_PREFIX;
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw usageError(`--etcd-prefix must start and end with "/" (got "${prefix}")`);
  return { kind: 'etcd', endpoints, prefix };
}

export function describeSpec(s: StoreSpec): string {
  return s.kind === 'sqlite' ? `sqlite:${s.path}` : `etcd:${s.endpoints.join(',')}${s.prefix === DEFAULT_ETCD_PREFIX ? '' : ` (prefix ${s.prefix})`}`;
}

/** The API tokens (hashes) and the key that signs node credentials. */
export interface AuthData {
  signingKey?: string;
  tokens: TokenRecord[];
}

interface OpenedStore {
  store: TransferableStore;
  readAuth(): Promise<AuthData>;
  /** Add the tokens (same id replaced) and set the signing key. */
  writeAuth(auth: AuthData): Promise<void>;
  close(): Promise<void>;
}

/** A SQLite file a running manager holds would change under us (and hand out the same revisions). */
function refuseLiveManager(dir: string): void {
  const lock = join(dir, 'manager.pid');
  if (!existsSync(lock)) return;
  const pid = Number(readFileSync(lock, 'utf8').trim());
  if (!pid || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return;
  }
  throw new CLIError(`a drover manager (pid ${pid}) is using ${dir}: stop it first`);
}

async function openSpec(s: StoreSpec, forWriting: boolean): Promise<OpenedStore> {
  if (s.kind === 'sqlite') {
    const dir = dirname(s.path);
    if (!forWriting && !existsSync(s.path)) throw new CLIError(`no store at ${s.path}`);
    if (forWriting) mkdirSync(dir, { recursive: true, mode: 0o700 });
    refuseLiveManager(dir);
    const store = await openSqliteStore({ path: s.path });
    const tokensFile = join(dir, 'tokens.json');
    const keyFile = join(dir, 'node-credential.key');
    return {
      store,
      async readAuth() {
        const tokens = existsSync(tokensFile) ? ((JSON.parse(readFileSync(tokensFile, 'utf8')) as { tokens?: TokenRecord[] }).tokens ?? []) : [];
        const signingKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined;
        return { tokens, ...(signingKey ? { signingKey } : {}) };
      },
      async writeAuth(auth) {
        const have = existsSync(tokensFile) ? ((JSON.parse(readFileSync(tokensFile, 'utf8')) as { tokens?: TokenRecord[] }).tokens ?? []) : [];
        const ids = new Set(auth.tokens.map((t) => t.id));
        const tmp = `${tokensFile}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify({ tokens: [...have.filter((t) => !ids.has(t.id)), ...auth.tokens] }, null, 2) + '\n', { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, tokensFile);
        if (auth.signingKey) writeFileSync(keyFile, auth.signingKey + '\n', { mode: 0o600 });
      },
      close: () => store.close(),
    };
  }
  const { openEtcdStore } = await import('../store/etcd-store.ts');
  let store;
  try {
    store = await openEtcdStore({ endpoints: s.endpoints, prefix: s.prefix, compactIntervalMs: 0, watchCacheSize: 1 });
  } catch (e) {
    throw new CLIError((e as Error).message, { cause: e });
  }
  const { client, keys } = store;
  const tokensPrefix = keys.auth('tokens/');
  const keyKey = keys.auth('node-credential-key');
  return {
    store,
    async readAuth() {
      const tokens = Object.values(await client.getAll().prefix(tokensPrefix).json()) as TokenRecord[];
      const signingKey = (await client.get(keyKey).string()) ?? undefined;
      return { tokens, ...(signingKey ? { signingKey } : {}) };
    },
    async writeAuth(auth) {
      for (const t of auth.tokens) await client.put(`${tokensPrefix}${t.id}`).value(JSON.stringify(t));
      if (auth.signingKey) await client.put(keyKey).value(auth.signingKey);
    },
    close: () => store.close(),
  };
}

export interface TransferOptions {
  /** Allow a target that already holds objects (objects with the same key are replaced). */
  force?: boolean;
  /** Progress lines (stderr). */
  progress?: (line: string) => void;
}

export interface TransferResult {
  objects: number;
  tokens: number;
}

async function ensureEmpty(target: OpenedStore, spec: StoreSpec, force: boolean | undefined): Promise<void> {
  const n = await target.store.countObjects();
  if (n > 0 && !force) {
    throw new CLIError(`the target ${describeSpec(spec)} already holds ${n} object${n === 1 ? '' : 's'}`, {
      hint: 'pick an empty store, or add --force to copy into it anyway (objects with the same name are replaced)',
    });
  }
}

/** Import in the given (revision) order, so the new revisions keep the old order. */
async function importAll(target: OpenedStore, objects: AsyncIterable<StoredObject> | Iterable<StoredObject>, total: number | undefined, o: TransferOptions, verb: string): Promise<number> {
  let n = 0;
  for await (const { resource, object } of objects) {
    await target.store.importObject(resource, object);
    n++;
    if (n % PROGRESS_EVERY === 0) o.progress?.(`${verb} ${n}${total !== undefined ? `/${total}` : ''} objects`);
  }
  return n;
}

export async function migrateStore(from: StoreSpec, to: StoreSpec, o: TransferOptions = {}): Promise<TransferResult> {
  if (describeSpec(from) === describeSpec(to)) throw usageError('--from and --to name the same store');
  const src = await openSpec(from, false);
  try {
    const dst = await openSpec(to, true);
    try {
      await ensureEmpty(dst, to, o.force);
      const objects = await src.store.exportObjects();
      o.progress?.(`read ${objects.length} objects from ${describeSpec(from)}`);
      const n = await importAll(dst, objects, objects.length, o, 'copied');
      const auth = await src.readAuth();
      await dst.writeAuth(auth);
      o.progress?.(`copied ${n} objects and ${auth.tokens.length} API tokens to ${describeSpec(to)}`);
      return { objects: n, tokens: auth.tokens.length };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

interface BackupHeader {
  kind: typeof BACKUP_KIND;
  version: number;
  source: string;
  createdAt: string;
  objects: number;
}

/** JSON lines: a header, one `{resource, object}` per object in revision order, then `{auth}`. Mode 0600. */
export async function backupStore(from: StoreSpec, out: string, o: TransferOptions & { now?: () => number } = {}): Promise<TransferResult> {
  const src = await openSpec(from, false);
  try {
    const objects = await src.store.exportObjects();
    const auth = await src.readAuth();
    const header: BackupHeader = { kind: BACKUP_KIND, version: BACKUP_VERSION, source: describeSpec(from), createdAt: new Date((o.now ?? Date.now)()).toISOString(), objects: objects.length };
    const lines = [JSON.stringify(header), ...objects.map((x) => JSON.stringify({ resource: x.resource, object: x.object })), JSON.stringify({ auth })];
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.join('\n') + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, out);
    o.progress?.(`wrote ${objects.length} objects and ${auth.tokens.length} API tokens from ${describeSpec(from)} to ${out}`);
    return { objects: objects.length, tokens: auth.tokens.length };
  } finally {
    await src.close();
  }
}

export async function restoreStore(to: StoreSpec, input: string, o: TransferOptions = {}): Promise<TransferResult> {
  if (!existsSync(input)) throw new CLIError(`no backup file ${input}`);
  const lines = createInterface({ input: createReadStream(input, 'utf8'), crlfDelay: Infinity });
  const it = lines[Symbol.asyncIterator]();
  const bad = (lineNo: number, why: string) => new CLIError(`${input}:${lineNo}: ${why}`);
  const first = await it.next();
  let header: BackupHeader;
  try {
    header = JSON.parse(first.done ? '' : first.value) as BackupHeader;
  } catch {
    lines.close();
    throw bad(1, `not a drover backup (the first line is not a ${BACKUP_KIND} header)`);
  }
  if (header?.kind !== BACKUP_KIND) {
    lines.close();
    throw bad(1, `not a drover backup (the first line is not a ${BACKUP_KIND} header)`);
  }
  if (header.version !== BACKUP_VERSION) {
    lines.close();
    throw bad(1, `backup version ${header.version} is not supported (this drover reads version ${BACKUP_VERSION})`);
  }
  const dst = await openSpec(to, true);
  try {
    await ensureEmpty(dst, to, o.force);
    let auth: AuthData = { tokens: [] };
    let lineNo = 1;
    async function* objects(): AsyncGenerator<StoredObject> {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        lineNo++;
        if (!r.value.trim()) continue;
        let rec: { resource?: string; object?: KubeObject; auth?: AuthData };
        try {
          rec = JSON.parse(r.value);
        } catch {
          throw bad(lineNo, 'not JSON');
        }
        if (rec.auth) auth = { tokens: rec.auth.tokens ?? [], ...(rec.auth.signingKey ? { signingKey: rec.auth.signingKey } : {}) };
        else if (typeof rec.resource === 'string' && rec.object?.metadata?.name) yield { resource: rec.resource, object: rec.object };
        else throw bad(lineNo, 'neither an object ({resource, object}) nor the auth record');
      }
    }
    const n = await importAll(dst, objects(), header.objects, o, 'restored');
    if (n !== header.objects) throw new CLIError(`${input} is truncated: its header promises ${header.objects} objects, it holds ${n} (the ${n} were restored)`);
    await dst.writeAuth(auth);
    o.progress?.(`restored ${n} objects and ${auth.tokens.length} API tokens to ${describeSpec(to)}`);
    return { objects: n, tokens: auth.tokens.length };
  } finally {
    lines.close();
    await dst.close();
  }
}

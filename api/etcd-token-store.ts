// The TokenStore in etcd, for managers sharing an etcd store (`drover manager --store etcd`): a token
// made or revoked through one manager works or stops working on all of them. Records (sha256 hashes,
// never tokens) live at `<prefix>~auth/tokens/<id>`, the node-credential signing key at
// `<prefix>~auth/node-credential-key` (made once by whichever manager comes first). Each manager keeps
// every record in memory, follows the others' changes with an etcd watch, and writes its own changes in
// the background in order: `flush()` resolves once they are in etcd (the routes await it before
// answering), so authentication stays a synchronous lookup as with the file store.
import { randomBytes } from 'node:crypto';
import type { Etcd3, IKeyValue, Watcher as EtcdWatcher } from 'etcd3';
import type { EtcdKeys } from '../store/etcd-keys.ts';
import { tokenMinter, type TokenInfo, type TokenRecord, type TokenStore } from './auth.ts';

export interface EtcdTokenStore extends TokenStore {
  flush(): Promise<void>;
  /** Wait for pending writes, stop following etcd (the client stays open: it is the store's). */
  close(): Promise<void>;
}

export interface EtcdTokenStoreOptions {
  client: Etcd3;
  keys: EtcdKeys;
  now?: () => number;
  /** A background write or the watch failed (flush() also rejects for a failed write). */
  onError?: (message: string, err: unknown) => void;
}

export async function openEtcdTokenStore(o: EtcdTokenStoreOptions): Promise<EtcdTokenStore> {
  const now = o.now ?? Date.now;
  const c = o.client;
  const keyKey = o.keys.auth('node-credential-key');
  const prefix = o.keys.auth('tokens/');
  const recordKey = (id: string) => `${prefix}${id}`;

  // Every manager must sign node credentials with the same key: the first one to start makes it.
  await c.if(keyKey, 'Create', '==', 0).then(c.put(keyKey).value(randomBytes(32).toString('base64'))).commit();
  const signing = await c.get(keyKey).string();
  if (!signing) throw new Error(`the node-credential signing key ${keyKey} vanished`);
  const minter = tokenMinter(Buffer.from(signing, 'base64'), now);

  const records = new Map<string, TokenRecord>();
  let byHash = new Map<string, TokenRecord>();
  const reindex = () => {
    byHash = new Map([...records.values()].map((r) => [r.sha256, r]));
  };
  const idOf = (kv: IKeyValue) => kv.key.toString('utf8').slice(prefix.length);
  const apply = (kv: IKeyValue, deleted: boolean) => {
    if (deleted) records.delete(idOf(kv));
    else {
      try {
        records.set(idOf(kv), JSON.parse(kv.value.toString('utf8')) as TokenRecord);
      } catch (e) {
        o.onError?.(`unreadable token record ${kv.key.toString('utf8')}`, e);
      }
    }
    reindex();
  };

  let watcher: EtcdWatcher | undefined;
  let closed = false;
  /** Load every record, then follow changes from the revision the load saw. */
  const sync = async (): Promise<void> => {
    const r = await c.getAll().prefix(prefix).exec();
    records.clear();
    for (const kv of r.kvs) apply(kv, false);
    reindex();
    const w = await c.watch().prefix(prefix).startRevision(String(Number(r.header.revision) + 1)).create();
    if (closed) {
      await w.cancel();
      return;
    }
    watcher = w;
    w.on('put', (kv) => apply(kv, false));
    w.on('delete', (kv) => apply(kv, true));
    w.on('error', (err) => {
      // The watch was cancelled (e.g. etcd compacted past it while disconnected): load everything again.
      o.onError?.('token watch failed; reloading the tokens', err);
      watcher = undefined;
      const retry = (delay: number) => {
        if (closed) return;
        sync().catch((e) => {
          o.onError?.('token reload failed', e);
          setTimeout(() => retry(Math.min(delay * 2, 5000)), delay).unref();
        });
      };
      retry(100);
    });
  };
  await sync();

  let pending: Promise<void> = Promise.resolve();
  let failure: unknown;
  const persist = (what: string, op: () => Promise<unknown>) => {
    pending = pending.then(op).then(
      () => undefined,
      (err) => {
        failure ??= err;
        o.onError?.(`token store: ${what} failed`, err);
      },
    );
  };
  const put = (r: TokenRecord) => c.put(recordKey(r.id)).value(JSON.stringify(r)).exec();
  const remove = (ids: string[]) => Promise.all(ids.map((id) => c.delete().key(recordKey(id)).exec()));
  const drop = (pick: (r: TokenRecord) => boolean): string[] => {
    const ids = [...records.values()].filter(pick).map((r) => r.id);
    for (const id of ids) records.delete(id);
    if (ids.length) reindex();
    return ids;
  };

  return {
    path: `etcd:${prefix}`,
    authenticate: (token) => minter.authenticate(token, byHash),
    create(opts) {
      const { token, record } = minter.mint(opts);
      // Expired records are dropped as new ones come, as in the file store.
      const stale = drop((r) => minter.expired(r));
      records.set(record.id, record);
      reindex();
      persist('create', async () => {
        await put(record);
        await remove(stale);
      });
      return { token, id: record.id };
    },
    list(): TokenInfo[] {
      return [...records.values()]
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
        .map(({ sha256: _hash, ...info }) => info);
    },
    revoke(id) {
      const ids = drop((r) => r.id === id);
      if (!ids.length) return false;
      persist('revoke', () => remove(ids));
      return true;
    },
    revokeWhere(pick) {
      const ids = drop(pick);
      if (ids.length) persist('revoke', () => remove(ids));
      return ids.length;
    },
    expireBy(id, untilMs) {
      const r = records.get(id);
      if (!r || (r.expiresAt && Date.parse(r.expiresAt) <= untilMs)) return;
      const next = { ...r, expiresAt: new Date(untilMs).toISOString() };
      records.set(id, next);
      reindex();
      persist('expire', () => put(next));
    },
    async flush() {
      await pending;
      if (failure !== undefined) {
        const f = failure;
        failure = undefined;
        throw new Error(`a token change could not be stored in etcd: ${(f as Error)?.message ?? f}`, { cause: f });
      }
    },
    async close() {
      closed = true;
      await pending;
      const w = watcher;
      watcher = undefined;
      await w?.cancel().catch(() => undefined);
    },
  };
}

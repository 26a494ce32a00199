// The manager's store and token store, by `--store`: `sqlite` (default) keeps both in the data dir;
// `etcd` keeps both in etcd, so several managers can share them (README "etcd and high availability").
import { join } from 'node:path';
import type { Logger } from '../core/logging.ts';
import type { Store } from '../core/store.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { openTokenStore, type TokenStore } from '../api/auth.ts';
import type { EtcdStore } from '../store/etcd-store.ts';
import { CLIError } from './cli-error.ts';

export const STORE_KINDS = ['sqlite', 'etcd'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface ManagerStoreOptions {
  kind?: StoreKind;
  dataDir: string;
  /** Watch history kept (SQLite: events in the file; etcd: revisions before compaction). */
  watchHistory?: number;
  etcdEndpoints?: string[];
  /** Key prefix in etcd, default /drover/. */
  etcdPrefix?: string;
  logger: Logger;
}

export interface ManagerStore {
  kind: StoreKind;
  store: Store;
  tokens: TokenStore;
  /** With --store etcd: the store itself (its client and keys serve leader election too). */
  etcd?: EtcdStore;
  /** Human-readable location, for logs. */
  location: string;
  /** Flush and close the token store, then the store. */
  close(): Promise<void>;
}

export async function openManagerStore(o: ManagerStoreOptions): Promise<ManagerStore> {
  const kind = o.kind ?? 'sqlite';
  if (kind === 'sqlite') {
    if (o.etcdEndpoints?.length) throw new CLIError('--etcd-endpoints needs --store etcd', { exitCode: 2 });
    const path = join(o.dataDir, 'drover.db');
    const store = await openSqliteStore({ path, historySize: o.watchHistory });
    return { kind, store, tokens: openTokenStore(o.dataDir), location: path, close: () => store.close() };
  }
  if (kind !== 'etcd') throw new CLIError(`--store must be one of ${STORE_KINDS.join(', ')} (got "${String(kind)}")`, { exitCode: 2 });
  if (!o.etcdEndpoints?.length) throw new CLIError('--store etcd needs --etcd-endpoints http://HOST:2379[,…]', { exitCode: 2 });
  // Loaded only when asked for: the gRPC client is not needed by a SQLite manager.
  const { openEtcdStore } = await import('../store/etcd-store.ts');
  const { openEtcdTokenStore } = await import('../api/etcd-token-store.ts');
  let store: EtcdStore;
  try {
    store = await openEtcdStore({
      endpoints: o.etcdEndpoints, prefix: o.etcdPrefix, historySize: o.watchHistory,
      onWarning: (message, err) => o.logger.warn(message, { err: String((err as Error)?.message ?? err) }),
    });
  } catch (e) {
    throw new CLIError((e as Error).message, { cause: e });
  }
  try {
    const tokens = await openEtcdTokenStore({
      client: store.client, keys: store.keys,
      onError: (message, err) => o.logger.error(message, { err: String((err as Error)?.message ?? err) }),
    });
    return {
      kind, store, tokens, etcd: store, location: `etcd ${o.etcdEndpoints.join(',')} ${store.keys.prefix}`,
      async close() {
        await tokens.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

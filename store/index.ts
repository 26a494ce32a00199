// Public surface of store/: the backends behind the core/store.ts Store port (SQLite, etcd).
export { openSqliteStore } from './sqlite-store.ts';
export { openEtcdStore, connectEtcd } from './etcd-store.ts';
export { parseEndpoints } from './etcd-endpoints.ts';
export type { EtcdStore, EtcdStoreOptions, EtcdStoreStats } from './etcd-store.ts';
export { EtcdKeys, DEFAULT_ETCD_PREFIX } from './etcd-keys.ts';
export type { SqliteStore, SqliteStoreOptions, StoreStats } from './sqlite-store.ts';
export { splitResourceKey } from './store-errors.ts';
export type { TransferableStore, StoredObject } from './transfer.ts';

// Public surface of store/: the backends behind the core/store.ts Store port.
export { openSqliteStore } from './sqlite-store.ts';
export type { SqliteStore, SqliteStoreOptions, StoreStats } from './sqlite-store.ts';
export { splitResourceKey } from './store-errors.ts';

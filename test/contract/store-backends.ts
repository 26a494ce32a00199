// The Store backends the contract suite runs against: SQLite (file and :memory:) and etcd (a real
// single-member etcd started for the test file by test/helpers/etcd-cluster.ts). Each test gets a
// fresh store: a new SQLite file, or a new key prefix in the shared etcd.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEtcdStore, openSqliteStore } from '../../store/index.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';
import type { StoreFixture } from './store-contract.ts';

export interface StoreBackend {
  name: string;
  /** Once per test file, before the first store (e.g. start etcd). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(): Promise<StoreFixture>;
}

export function sqliteFileBackend(): StoreBackend {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite file',
    async setup() { dir = mkdtempSync(join(tmpdir(), 'drover-sqlite-')); },
    async teardown() { rmSync(dir, { recursive: true, force: true }); },
    async open() {
      const store = await openSqliteStore({ path: join(dir, `store-${++n}.db`) });
      return { store, cleanup: () => store.close() };
    },
  };
}

export function sqliteMemoryBackend(): StoreBackend {
  return {
    name: 'sqlite :memory:',
    async setup() {},
    async teardown() {},
    async open() {
      const store = await openSqliteStore({ path: ':memory:' });
      return { store, cleanup: () => store.close() };
    },
  };
}

/** etcd: one member for the file; every store gets its own key prefix, so tests never see each other. */
export function etcdBackend(): StoreBackend & { cluster(): EtcdCluster } {
  let cluster: EtcdCluster | undefined;
  let n = 0;
  return {
    name: 'etcd',
    cluster: () => cluster!,
    async setup() { cluster = await startEtcdCluster({ members: 1, name: 'contract' }); },
    async teardown() { await cluster?.stop(); },
    async open() {
      const store = await openEtcdStore({ endpoints: cluster!.endpoints, prefix: `/contract-${++n}/`, compactIntervalMs: 0 });
      return { store, cleanup: () => store.close() };
    },
  };
}

export const storeBackends = (): StoreBackend[] => [sqliteFileBackend(), sqliteMemoryBackend(), etcdBackend()];

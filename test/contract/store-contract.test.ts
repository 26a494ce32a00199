// The Store contract against every backend: SQLite (file, :memory:) and etcd (a real single-member etcd).
import { describe, beforeAll, afterAll } from '@jest/globals';
import { runStoreContract } from './store-contract.ts';
import { storeBackends, type StoreBackend } from './store-backends.ts';

describe.each(storeBackends().map((b) => [b.name, b] as [string, StoreBackend]))('%s', (name, backend) => {
  beforeAll(() => backend.setup(), 30_000);
  afterAll(() => backend.teardown(), 30_000);
  runStoreContract(name, () => backend.open());
});

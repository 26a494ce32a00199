// A Store decorator that counts and times every operation. It also remembers close(), which the
// readiness probe reports.
import type { ResourceKey, Store } from '../core/store.ts';
import type { ApiMetrics } from './metrics.ts';

export interface InstrumentedStore extends Store {
  readonly closed: boolean;
}

export function instrumentStore(store: Store, metrics: Pick<ApiMetrics, 'storeOperations' | 'storeDuration'>): InstrumentedStore {
  let closed = false;
  const timed = async <T>(op: string, resource: ResourceKey, run: () => Promise<T>): Promise<T> => {
    const labels = { op, resource };
    metrics.storeOperations.inc(labels);
    const end = metrics.storeDuration.startTimer(labels);
    try {
      return await run();
    } finally {
      end();
    }
  };
  return {
    get closed() {
      return closed;
    },
    create: (r, obj) => timed('create', r, () => store.create(r, obj)),
    get: (r, ns, name) => timed('get', r, () => store.get(r, ns, name)),
    list: (r, opts) => timed('list', r, () => store.list(r, opts)),
    update: (r, obj) => timed('update', r, () => store.update(r, obj)),
    delete: (r, ns, name, opts) => timed('delete', r, () => store.delete(r, ns, name, opts)),
    watch: (r, opts, handler) => timed('watch', r, () => store.watch(r, opts, handler)),
    revision: () => store.revision(),
    compact: (rev) => timed('compact', '', () => store.compact(rev)),
    close: async () => {
      closed = true;
      await store.close();
    },
  };
}

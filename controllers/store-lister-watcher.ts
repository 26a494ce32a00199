// The in-process ListerWatcher over the Store port, used by the manager's own controllers.
import type { Store, ResourceKey } from '../core/store.ts';
import type { ListerWatcher } from './informer.ts';

export function storeListerWatcher(store: Store, resourceKey: ResourceKey): ListerWatcher {
  return {
    async list(opts) {
      const res = await store.list(resourceKey, { namespace: opts.namespace, labelSelector: opts.labelSelector });
      return { items: res.items, resourceVersion: res.resourceVersion };
    },
    // A store watch only ends when stopped; a too-old revision rejects with Gone, which the informer relists on.
    async watch(opts, onEvent) {
      return store.watch(
        resourceKey,
        { namespace: opts.namespace, labelSelector: opts.labelSelector, resourceVersion: opts.resourceVersion },
        onEvent,
      );
    },
  };
}

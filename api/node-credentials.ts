// A deleted Node's credentials stop working at once: the manager watches its own store and revokes the
// node credentials of every Node that is deleted — when its deletion starts (it then waits on its
// finalizer until its workloads are stopped or re-placed) and when it disappears (whatever deleted it:
// the API, a collection delete, GC).
import type { Logger } from '../core/logging.ts';
import type { ResourceRegistry } from '../core/resources.ts';
import type { Store } from '../core/store.ts';
import type { TokenStore } from './auth.ts';

export async function revokeCredentialsOfDeletedNodes(store: Store, registry: ResourceRegistry, tokens: TokenStore, logger: Logger): Promise<{ stop(): void }> {
  const rt = registry.resolve('Node');
  if (!rt) throw new Error('the Node CRD is missing from crds/');
  const watcher = await store.watch(rt.key, {}, (ev) => {
    if (ev.type !== 'DELETED' && !(ev.type === 'MODIFIED' && ev.object.metadata.deletionTimestamp)) return;
    const node = ev.object.metadata.name;
    const cluster = ev.object.metadata.namespace;
    const n = tokens.revokeWhere((t) => t.role === 'node' && t.node === node && t.cluster === cluster);
    if (n) logger.info('revoked the credentials of a deleted node', { node, cluster, credentials: n });
  });
  return { stop: () => watcher.stop() };
}

// Garbage collector (background cascading deletion): an object all of whose owners (by uid) are gone
// is deleted, dangling owner references are dropped, and objects in a namespace whose Cluster is gone
// are deleted. Chains resolve naturally: deleting B fires B's delete event, which enqueues C.
import type { KubeObject, OwnerReference } from '../core/types.ts';
import type { Store } from '../core/store.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { Logger } from '../core/logging.ts';
import { isApiError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { createController, type Controller, type InformerSource, type ReconcileContext } from './controller.ts';
import { mustResolve } from './resolve-kind.ts';

export const OWNER_UID_INDEX = 'gc.drover.dev/owner-uid';

export interface GarbageCollectorOptions {
  informers: InformerSource;
  store: Store;
  registry: ResourceRegistry;
  logger: Logger;
  clock?: Clock;
}

/** One small controller per resource kind, sharing the informers; returns them for the manager to add. */
export function createGarbageCollector(opts: GarbageCollectorOptions): Controller[] {
  const clusterRt = mustResolve(opts.registry, 'Cluster');
  const types = opts.registry.all();
  const inf = (rt: ResourceType) => opts.informers.informer(rt.key);

  for (const rt of types) {
    inf(rt).addIndexers({ [OWNER_UID_INDEX]: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid) });
  }

  /** Cache first; a miss is confirmed with a live read so a lagging cache never causes a deletion. */
  async function exists(rt: ResourceType, namespace: string | undefined, name: string, uid?: string): Promise<boolean> {
    const cached = inf(rt).cache.get(namespace, name);
    if (cached && (uid === undefined || cached.metadata.uid === uid)) return true;
    try {
      const live = await opts.store.get(rt.key, namespace, name);
      return uid === undefined || live.metadata.uid === uid;
    } catch (err) {
      if (isApiError(err, 404)) return false;
      throw new Error(`gc: cannot check ${rt.kind} ${namespace ? namespace + '/' : ''}${name}`, { cause: err });
    }
  }

  async function remove(rt: ResourceType, obj: KubeObject, why: string, ctx: ReconcileContext): Promise<void> {
    try {
      await opts.store.delete(rt.key, obj.metadata.namespace, obj.metadata.name, { uid: obj.metadata.uid });
      ctx.logger.info('garbage collected', { kind: rt.kind, why });
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
    }
  }

  const controllers = new Map<string, Controller>();
  for (const rt of types) {
    const c = createController({
      name: `gc-${rt.plural}`,
      resource: rt,
      informers: opts.informers,
      logger: opts.logger,
      clock: opts.clock,
      // Only objects that can become garbage need a look.
      filter: (o) => !!o.metadata.namespace || !!o.metadata.ownerReferences?.length,
      async reconcile(req, ctx) {
        const obj = inf(rt).cache.get(req.namespace, req.name);
        // Being deleted (finalizers pending) is someone else's business.
        if (!obj || obj.metadata.deletionTimestamp) return;
        const ns = obj.metadata.namespace;
        if (rt.namespaced && ns && !(await exists(clusterRt, undefined, ns))) {
          return remove(rt, obj, `cluster ${ns} no longer exists`, ctx);
        }
        const refs = obj.metadata.ownerReferences ?? [];
        if (refs.length === 0) return;
        const dangling: OwnerReference[] = [];
        for (const ref of refs) {
          const ownerRt = opts.registry.byApiVersionKind(ref.apiVersion, ref.kind);
          if (!ownerRt) {
            ctx.logger.warn('owner kind unknown, keeping object', { owner: `${ref.apiVersion}/${ref.kind}` });
            continue;
          }
          if (!(await exists(ownerRt, ownerRt.namespaced ? ns : undefined, ref.name, ref.uid))) dangling.push(ref);
        }
        if (dangling.length === 0) return;
        if (dangling.length === refs.length) {
          return remove(rt, obj, `owner ${dangling.map((r) => `${r.kind}/${r.name}`).join(', ')} no longer exists`, ctx);
        }
        // Some owners remain: keep the object, drop the references that point nowhere.
        const keep = refs.filter((r) => !dangling.includes(r));
        await opts.store.update(rt.key, { ...obj, metadata: { ...obj.metadata, ownerReferences: keep } });
        ctx.logger.info('dropped dangling owner references', { owners: dangling.map((r) => r.uid) });
      },
    });
    controllers.set(rt.key, c);
  }

  // An owner's deletion enqueues its dependents; a Cluster's deletion enqueues its whole namespace.
  for (const rt of types) {
    inf(rt).on('delete', (owner) => {
      const uid = owner.metadata.uid;
      for (const dep of types) {
        const c = controllers.get(dep.key)!;
        if (uid) for (const o of inf(dep).cache.byIndex(OWNER_UID_INDEX, uid)) c.enqueue({ namespace: o.metadata.namespace, name: o.metadata.name });
        if (rt.key === clusterRt.key && dep.namespaced) {
          for (const o of inf(dep).cache.list(owner.metadata.name)) c.enqueue({ namespace: o.metadata.namespace, name: o.metadata.name });
        }
      }
    });
  }
  return [...controllers.values()];
}

// Cluster controller: feeds reconcileCluster a snapshot of the Cluster's namespace from the informer
// caches, writes the status it returns, and records Events when the Ready condition changes.
import type { KubeObject } from '../core/types.ts';
import type { Store } from '../core/store.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { Logger } from '../core/logging.ts';
import { isApiError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { reconcileCluster } from '../reconcilers/cluster-reconciler.ts';
import { createController, type Controller, type InformerSource } from './controller.ts';
import type { EventRecorder } from './event-recorder.ts';
import { mustResolve } from './resolve-kind.ts';

export interface ClusterControllerOptions {
  informers: InformerSource;
  store: Store;
  registry: ResourceRegistry;
  recorder: EventRecorder;
  logger: Logger;
  clock?: Clock;
  workers?: number;
}

/** At most one Cluster status write per this interval. */
export const STATUS_WRITE_INTERVAL_MS = 1000;

export function createClusterController(opts: ClusterControllerOptions): Controller {
  const clusters = mustResolve(opts.registry, 'Cluster');
  const members = {
    nodes: mustResolve(opts.registry, 'Node'),
    containers: mustResolve(opts.registry, 'Container'),
    agents: mustResolve(opts.registry, 'Agent'),
    agentDeployments: mustResolve(opts.registry, 'AgentDeployment'),
  };
  // Anything in a namespace changes that namespace's Cluster.
  const toCluster = (obj: KubeObject) => (obj.metadata.namespace ? [{ name: obj.metadata.namespace }] : []);

  const lastWrite = new Map<string, number>();
  return createController({
    name: 'cluster',
    resource: clusters,
    informers: opts.informers,
    logger: opts.logger,
    clock: opts.clock,
    workers: opts.workers,
    watches: Object.values(members).map((rt) => ({ resource: rt.key, map: toCluster })),
    async reconcile(req, ctx) {
      const cluster = opts.informers.informer(clusters.key).cache.get(undefined, req.name);
      if (!cluster) lastWrite.delete(req.name);
      if (!cluster || cluster.metadata.deletionTimestamp) return;
      // Throttle before computing, not just before writing: the status walks every member of the Cluster.
      const wait = (lastWrite.get(req.name) ?? -Infinity) + STATUS_WRITE_INTERVAL_MS - ctx.clock.now();
      if (wait > 0) return { requeueAfter: wait };
      const cacheOf = (rt: ResourceType) => opts.informers.informer(rt.key).cache.list(req.name);
      const diff = reconcileCluster(
        cluster,
        {
          nodes: cacheOf(members.nodes),
          containers: cacheOf(members.containers),
          agents: cacheOf(members.agents),
          agentDeployments: cacheOf(members.agentDeployments),
        },
        ctx.clock.now(),
      );
      // Counts change with every member write; one status computation per second per Cluster is plenty,
      // and the requeue above makes sure the last change is written (reconciles are level-based).
      lastWrite.set(req.name, ctx.clock.now());
      if (diff.status) {
        try {
          // /status semantics: only status changes; the cached resourceVersion guards against lost updates.
          await opts.store.update(clusters.key, { ...cluster, status: diff.status });
        } catch (err) {
          if (isApiError(err, 404)) return; // deleted meanwhile
          throw err;
        }
        ctx.logger.debug('cluster status updated', { nodes: diff.status.nodes, readyNodes: diff.status.readyNodes });
      }
      // Events only after the status that explains them is stored, so a retried conflict does not double them.
      for (const ev of diff.events ?? []) await opts.recorder.record(cluster, ev.type, ev.reason, ev.message);
      return diff.requeueAfter ? { requeueAfter: diff.requeueAfter } : {};
    },
  });
}

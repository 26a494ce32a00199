// Node lifecycle controller: marks silent Nodes Ready=Unknown after the Cluster's grace period
// (reconcilers/node-lifecycle.ts decides), records NodeNotReady/NodeReady, and wakes at the deadline.
import type { KubeObject } from '../core/types.ts';
import { isApiError } from '../core/errors.ts';
import { realClock } from '../core/clock.ts';
import { applyMergePatch } from '../core/patch.ts';
import { failurePolicyOf, reconcileNodeLifecycle } from '../reconcilers/node-lifecycle.ts';
import { createController, type Controller } from './controller.ts';
import { createEventRecorder } from './event-recorder.ts';
import { mustResolve, type ManagerControllerOptions } from './resolve-kind.ts';

export interface NodeLifecycleControllerOptions extends ManagerControllerOptions {
  /** Floor for "lost": default the time this controller is created (the manager's start). */
  managerStartedAt?: number;
}

export function createNodeLifecycleController(opts: NodeLifecycleControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const managerStartedAt = opts.managerStartedAt ?? clock.now();
  const nodes = mustResolve(opts.registry, 'Node');
  const clusters = mustResolve(opts.registry, 'Cluster');
  const recorder = opts.recorder ?? createEventRecorder({
    store: opts.store, component: 'node-lifecycle-controller', logger: opts.logger, clock, resource: mustResolve(opts.registry, 'Event').key,
  });
  const nodeInformer = opts.informers.informer(nodes.key);
  const clusterInformer = opts.informers.informer(clusters.key);

  return createController({
    name: 'node-lifecycle',
    resource: nodes,
    informers: opts.informers,
    logger: opts.logger,
    clock,
    workers: opts.workers,
    // A changed failure policy moves every deadline in the Cluster's namespace.
    watches: [{
      resource: clusters.key,
      map: (c: KubeObject) => nodeInformer.cache.list(c.metadata.name).map((n) => ({ namespace: n.metadata.namespace, name: n.metadata.name })),
    }],
    async reconcile(req, ctx) {
      const node = nodeInformer.cache.get(req.namespace, req.name);
      if (!node || node.metadata.deletionTimestamp) return;
      const policy = failurePolicyOf(req.namespace ? clusterInformer.cache.get(undefined, req.namespace) : undefined);
      const diff = reconcileNodeLifecycle(node, { now: ctx.clock.now(), managerStartedAt, policy });
      if (diff.status || diff.patch?.length) {
        let next: KubeObject = diff.status ? { ...node, status: diff.status } : node;
        for (const p of diff.patch ?? []) next = applyMergePatch<KubeObject>(next, p.patch);
        try {
          // The cached resourceVersion loses to a heartbeat written meanwhile: the retry sees it.
          await opts.store.update(nodes.key, next);
        } catch (err) {
          if (isApiError(err, 404)) return;
          throw err;
        }
      }
      for (const ev of diff.events ?? []) await recorder.record(node, ev.type, ev.reason, ev.message);
      if (diff.events?.length) ctx.logger.info('node readiness changed', { node: req.name, reasons: diff.events.map((e) => e.reason) });
      return diff.requeueAfter ? { requeueAfter: diff.requeueAfter } : {};
    },
  });
}

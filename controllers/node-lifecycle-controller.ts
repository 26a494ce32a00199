// Node lifecycle controller: marks silent Nodes Ready=Unknown after the Cluster's grace period
// (reconcilers/node-lifecycle.ts decides), records NodeNotReady/NodeReady, and wakes at the deadline.
// It also keeps a deleted Node until its workloads are stopped or re-placed (reconcilers/node-deletion.ts).
import type { KubeObject } from '../core/types.ts';
import { isApiError } from '../core/errors.ts';
import { realClock } from '../core/clock.ts';
import { applyMergePatch } from '../core/patch.ts';
import { failurePolicyOf, reconcileNodeLifecycle } from '../reconcilers/node-lifecycle.ts';
import { reconcileNodeDeletion } from '../reconcilers/node-deletion.ts';
import { createController, type Controller } from './controller.ts';
import { createEventRecorder } from './event-recorder.ts';
import { mustResolve, type ManagerControllerOptions } from './resolve-kind.ts';

export interface NodeLifecycleControllerOptions extends ManagerControllerOptions {
  /** Floor for "lost": default the time this controller is created (the manager's start). */
  managerStartedAt?: number;
}

export const NodeLifecycleIndexes = {
  containersByNode: 'node-lifecycle/containers-by-node',
  agentsByNode: 'node-lifecycle/agents-by-node',
} as const;

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
  // What is still bound to a node (status.nodeName): a deleted node waits for it (reconcilers/node-deletion.ts).
  const containerInformer = opts.informers.informer(mustResolve(opts.registry, 'Container').key);
  const agentInformer = opts.informers.informer(mustResolve(opts.registry, 'Agent').key);
  const boundTo = (o: KubeObject) => (typeof o.status?.nodeName === 'string' && o.status.nodeName ? [`${o.metadata.namespace ?? ''}/${o.status.nodeName}`] : []);
  containerInformer.addIndexers({ [NodeLifecycleIndexes.containersByNode]: boundTo });
  agentInformer.addIndexers({ [NodeLifecycleIndexes.agentsByNode]: boundTo });
  // A container or agent leaving a deleted node may let it go.
  const deletingNodeOf = (o: KubeObject) => {
    const name = o.status?.nodeName;
    if (typeof name !== 'string' || !name) return [];
    const n = nodeInformer.cache.get(o.metadata.namespace, name);
    return n?.metadata.deletionTimestamp ? [{ namespace: o.metadata.namespace, name }] : [];
  };

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
    },
    { resource: mustResolve(opts.registry, 'Container').key, map: deletingNodeOf },
    { resource: mustResolve(opts.registry, 'Agent').key, map: deletingNodeOf }],
    async reconcile(req, ctx) {
      const node = nodeInformer.cache.get(req.namespace, req.name);
      if (!node) return;
      const policy = failurePolicyOf(req.namespace ? clusterInformer.cache.get(undefined, req.namespace) : undefined);
      const now = ctx.clock.now();
      const key = `${req.namespace ?? ''}/${req.name}`;
      const deletion = reconcileNodeDeletion(node, {
        now, managerStartedAt, policy,
        containers: containerInformer.cache.byIndex(NodeLifecycleIndexes.containersByNode, key),
        agents: agentInformer.cache.byIndex(NodeLifecycleIndexes.agentsByNode, key),
      });
      if (node.metadata.deletionTimestamp) {
        if (deletion.patch?.length) {
          try {
            await opts.store.update(nodes.key, applyMergePatch<KubeObject>(node, deletion.patch[0].patch));
          } catch (err) {
            if (isApiError(err, 404)) return;
            throw err;
          }
          ctx.logger.info('deleted node released: its workloads are stopped or re-placed', { node: req.name });
        }
        return deletion.requeueAfter ? { requeueAfter: deletion.requeueAfter } : {};
      }
      const diff = reconcileNodeLifecycle(node, { now, managerStartedAt, policy });
      if (diff.status || diff.patch?.length || deletion.patch?.length) {
        let next: KubeObject = diff.status ? { ...node, status: diff.status } : node;
        for (const p of [...(diff.patch ?? []), ...(deletion.patch ?? [])]) next = applyMergePatch<KubeObject>(next, p.patch);
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

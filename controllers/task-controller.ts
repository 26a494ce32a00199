// Task dispatcher controller: one reconcile per namespace (a Cluster) feeds reconcilers/task-dispatch
// the namespace's Tasks, Containers and Nodes from the informer caches, and writes the status changes.
import type { KubeObject } from '../core/types.ts';
import type { Store } from '../core/store.ts';
import type { ResourceRegistry } from '../core/resources.ts';
import type { Logger } from '../core/logging.ts';
import type { Clock } from '../core/clock.ts';
import type { Container, Node, Task } from '../core/kinds.generated.ts';
import { Conflict, isApiError } from '../core/errors.ts';
import { dispatch, type DispatchOptions } from '../reconcilers/task-dispatch.ts';
import { createController, type Controller, type InformerSource } from './controller.ts';
import type { EventRecorder } from './event-recorder.ts';
import { mustResolve } from './resolve-kind.ts';

export interface TaskControllerOptions {
  informers: InformerSource;
  store: Store;
  registry: ResourceRegistry;
  recorder: EventRecorder;
  logger: Logger;
  clock?: Clock;
  dispatch?: DispatchOptions;
}

const rvOf = (o: KubeObject) => Number(o.metadata.resourceVersion ?? 0);

export function createTaskController(opts: TaskControllerOptions): Controller {
  const clusters = mustResolve(opts.registry, 'Cluster');
  const tasks = mustResolve(opts.registry, 'Task');
  const containers = mustResolve(opts.registry, 'Container');
  const nodes = mustResolve(opts.registry, 'Node');
  // Our own writes, until the informer has caught up with them: a dispatch must never decide on a
  // view older than its previous decisions (e.g. assign a second restart before the first shows up).
  const written = new Map<string, KubeObject>();
  const toNamespace = (obj: KubeObject) => (obj.metadata.namespace ? [{ name: obj.metadata.namespace }] : []);

  function freshest(cached: KubeObject): KubeObject {
    const key = cached.metadata.uid ?? `${cached.metadata.namespace}/${cached.metadata.name}`;
    const mine = written.get(key);
    if (!mine) return cached;
    if (rvOf(cached) >= rvOf(mine)) {
      written.delete(key);
      return cached;
    }
    return mine;
  }

  return createController({
    name: 'task-dispatcher',
    resource: clusters,
    informers: opts.informers,
    logger: opts.logger,
    clock: opts.clock,
    // The request name is the namespace; anything that can change a dispatch decision enqueues it.
    watches: [tasks, containers, nodes].map((rt) => ({ resource: rt.key, map: toNamespace })),
    async reconcile(req, ctx) {
      const namespace = req.name;
      const cache = (key: string) => opts.informers.informer(key).cache.list(namespace);
      const cached = cache(tasks.key);
      const present = new Set(cached.map((t) => t.metadata.uid));
      for (const [key, obj] of written) if (obj.metadata.namespace === namespace && !present.has(obj.metadata.uid)) written.delete(key);
      const taskObjs = cached.map(freshest) as Task[];
      // The Cluster's taskPolicy sets the per-node limit (the option is the default for Clusters without one).
      const cluster = opts.informers.informer(clusters.key).cache.get(undefined, namespace);
      const perNode = (cluster?.spec as { taskPolicy?: { maxConcurrentPerNode?: number } } | undefined)?.taskPolicy?.maxConcurrentPerNode;
      const plan = dispatch(
        { tasks: taskObjs, containers: cache(containers.key) as Container[], nodes: cache(nodes.key) as Node[] },
        ctx.clock.now(),
        { ...opts.dispatch, ...(typeof perNode === 'number' && perNode >= 1 ? { perNodeLimit: perNode } : {}) },
      );
      const byName = new Map(taskObjs.map((t) => [t.metadata.name, t]));
      const applied = new Set<string>();
      let conflicts = 0;
      for (const u of plan.statusUpdates) {
        const current = byName.get(u.name);
        if (!current) continue;
        try {
          // The cached resourceVersion makes this a compare-and-swap: an agent's concurrent claim wins, we retry.
          const stored = await opts.store.update(tasks.key, { ...current, status: u.status as Record<string, unknown> });
          written.set(stored.metadata.uid ?? `${namespace}/${u.name}`, stored);
          applied.add(u.name);
          ctx.logger.debug('task status', { task: u.name, state: u.status.state, waitReason: u.status.waitReason });
        } catch (err) {
          if (isApiError(err, 404)) continue; // deleted meanwhile
          if (!isApiError(err, 409)) throw err;
          conflicts++;
        }
      }
      // Events only for writes that landed, so a retried round does not repeat them.
      for (const ev of plan.events) {
        const name = ev.involvedObject?.name;
        const t = name ? byName.get(name) : undefined;
        if (t && applied.has(t.metadata.name)) await opts.recorder.record(t, ev.type, ev.reason, ev.message);
      }
      if (conflicts) throw new Conflict(`${conflicts} task status write(s) in ${namespace} lost a race; dispatching again`);
      return plan.requeueAfter !== undefined ? { requeueAfter: plan.requeueAfter } : {};
    },
  });
}

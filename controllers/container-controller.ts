// Container controller: feeds reconcileContainer the container's namespace (Nodes, Containers) and
// its Tasks from the informer caches, and applies the diff: status and metadata in one guarded
// write, task cancellations, new Tasks, then Events. Wakes at fencing deadlines via requeueAfter.
import type { KubeObject } from '../core/types.ts';
import { isApiError } from '../core/errors.ts';
import { realClock } from '../core/clock.ts';
import { applyMergePatch } from '../core/patch.ts';
import type { ContainerSpec } from '../core/kinds.generated.ts';
import { ContainerReasons, reconcileContainer, TaskLabels, UNSCHEDULABLE_RETRY_MS } from '../reconcilers/container-reconciler.ts';
import { failurePolicyOf } from '../reconcilers/node-lifecycle.ts';
import type { ObjectPatch } from '../reconcilers/types.ts';
import { createController, requestKey, type Controller, type Request } from './controller.ts';
import { kindsWithInformers, recorderFor, type ManagerControllerOptions } from './resolve-kind.ts';

export interface ContainerControllerOptions extends ManagerControllerOptions {
  /** Floor for fencing deadlines: default the time this controller is created (the manager's start). */
  managerStartedAt?: number;
}

export const ContainerIndexes = {
  tasksByContainer: 'container-controller/tasks-by-container',
  containersByNode: 'container-controller/containers-by-node',
  containersByDependency: 'container-controller/containers-by-dependency',
  unboundContainers: 'container-controller/unbound',
} as const;

/**
 * An unschedulable container is retried UNSCHEDULABLE_RETRY_MS (10 s) after it became so, then ever less
 * often, up to once a minute: node changes, freed capacity and Cluster changes wake it at once anyway, so
 * the retry is a safety net, and 10,000 unschedulable containers must not keep the manager busy.
 */
export const UNSCHEDULABLE_MAX_RETRY_MS = 60_000;
export function unschedulableRetryMs(unschedulableForMs: number): number {
  return Math.min(UNSCHEDULABLE_MAX_RETRY_MS, Math.max(UNSCHEDULABLE_RETRY_MS, unschedulableForMs));
}

/** How long a created Task may take to show up in the cache before we stop waiting for it. */
const EXPECTATION_TTL_MS = 10_000;
const EXPECTATION_RECHECK_MS = 50;

export function createContainerController(opts: ContainerControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const managerStartedAt = opts.managerStartedAt ?? clock.now();
  const { rt, inf } = kindsWithInformers(opts.registry, opts.informers, { containers: 'Container', nodes: 'Node', tasks: 'Task', clusters: 'Cluster' });
  const recorder = recorderFor(opts, 'container-controller', clock);
  const nsKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
  inf.tasks.addIndexers({
    [ContainerIndexes.tasksByContainer]: (t) => {
      const c = t.metadata.labels?.[TaskLabels.container];
      return c ? [nsKey(t.metadata.namespace, c)] : [];
    },
  });
  inf.containers.addIndexers({
    [ContainerIndexes.containersByNode]: (c) => (typeof c.status?.nodeName === 'string' && c.status.nodeName ? [nsKey(c.metadata.namespace, c.status.nodeName)] : []),
    [ContainerIndexes.containersByDependency]: (c) => ((c.spec as ContainerSpec | undefined)?.dependsOn ?? []).map((d) => nsKey(c.metadata.namespace, d.name)),
    [ContainerIndexes.unboundContainers]: (c) => (c.status?.nodeName ? [] : [c.metadata.namespace ?? '']),
  });

  const reqOf = (o: KubeObject): Request => ({ namespace: o.metadata.namespace, name: o.metadata.name });
  const unboundIn = (ns: string | undefined) => inf.containers.cache.byIndex(ContainerIndexes.unboundContainers, ns ?? '').map(reqOf);

  // Since when each container has been unschedulable (for the retry back-off).
  const unschedulableSince = new Map<string, number>();

  // Tasks created but not yet in the cache, per container key: reconciling before they arrive would create them twice.
  const expected = new Map<string, Map<string, number>>();
  function waitingForCache(key: string, ns: string | undefined): boolean {
    const names = expected.get(key);
    if (!names) return false;
    const now = clock.now();
    for (const [name, at] of names) {
      if (inf.tasks.cache.get(ns, name) || now - at > EXPECTATION_TTL_MS) names.delete(name);
    }
    if (names.size === 0) expected.delete(key);
    return names.size > 0;
  }

  async function applyPatch(p: ObjectPatch): Promise<void> {
    const target = opts.registry.byApiVersionKind(p.ref.apiVersion, p.ref.kind);
    if (!target) throw new Error(`container controller: cannot patch unknown kind ${p.ref.kind}`);
    const cached = opts.informers.informer(target.key).cache.get(p.ref.namespace, p.ref.name);
    if (!cached || (p.ref.uid && cached.metadata.uid !== p.ref.uid)) return; // gone already
    try {
      await opts.store.update(target.key, applyMergePatch<KubeObject>(cached, p.patch));
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
    }
  }

  return createController({
    name: 'container',
    resource: rt.containers,
    informers: opts.informers,
    logger: opts.logger,
    clock,
    workers: opts.workers,
    watches: [
      // A node change matters to what is bound there and to everything still looking for a node.
      { resource: rt.nodes.key, map: (n) => [...inf.containers.cache.byIndex(ContainerIndexes.containersByNode, nsKey(n.metadata.namespace, n.metadata.name)).map(reqOf), ...unboundIn(n.metadata.namespace)] },
      { resource: rt.tasks.key, map: (t) => {
        const c = t.metadata.labels?.[TaskLabels.container];
        return c ? [{ namespace: t.metadata.namespace, name: c }] : [];
      } },
      // Dependants wait on this container's phase/health; freed capacity may let unbound ones fit.
      // A bound container that goes away frees capacity for the unbound ones; any other container change
      // only concerns its dependants (re-placing every unbound container on every change is O(n²)).
      { resource: rt.containers.key, map: (c) => [...inf.containers.cache.byIndex(ContainerIndexes.containersByDependency, nsKey(c.metadata.namespace, c.metadata.name)).map(reqOf), ...((c.metadata.deletionTimestamp && (c.status as { nodeName?: string } | undefined)?.nodeName) ? unboundIn(c.metadata.namespace) : [])] },
      { resource: rt.clusters.key, map: (cl) => inf.containers.cache.list(cl.metadata.name).map(reqOf) },
    ],
    async reconcile(req, ctx) {
      const key = requestKey(req);
      const container = inf.containers.cache.get(req.namespace, req.name);
      if (!container) {
        expected.delete(key);
        unschedulableSince.delete(key);
        return;
      }
      if (waitingForCache(key, req.namespace)) return { requeueAfter: EXPECTATION_RECHECK_MS };
      const ns = req.namespace;
      const policy = failurePolicyOf(ns ? inf.clusters.cache.get(undefined, ns) : undefined);
      // The namespace's containers are listed only if the reconcile reads them: per-node and by-name
      // reads go to the cache's indexes, so a reconcile costs what it touches, not the namespace's size.
      let all: KubeObject[] | undefined;
      const diff = reconcileContainer(
        container,
        {
          nodes: inf.nodes.cache.list(ns),
          get containers() { return (all ??= inf.containers.cache.list(ns)); },
          boundTo: (node) => inf.containers.cache.byIndex(ContainerIndexes.containersByNode, nsKey(ns, node)),
          named: (name) => inf.containers.cache.get(ns, name),
          tasks: inf.tasks.cache.byIndex(ContainerIndexes.tasksByContainer, nsKey(ns, req.name)),
        },
        ctx.clock.now(),
        { ...policy, managerStartedAt },
      );

      // Status and our own metadata in one write guarded by the cached resourceVersion.
      const isSelf = (p: ObjectPatch) => p.ref.kind === container.kind && p.ref.name === container.metadata.name && p.ref.namespace === container.metadata.namespace;
      const selfPatches = (diff.patch ?? []).filter(isSelf);
      if (diff.status || selfPatches.length) {
        let next: KubeObject = diff.status ? { ...container, status: diff.status } : container;
        for (const p of selfPatches) next = applyMergePatch<KubeObject>(next, p.patch);
        try {
          await opts.store.update(rt.containers.key, next);
        } catch (err) {
          if (isApiError(err, 404)) return;
          throw err;
        }
      }
      for (const p of (diff.patch ?? []).filter((p) => !isSelf(p))) await applyPatch(p);
      for (const t of diff.tasks ?? []) {
        const created = await opts.store.create(rt.tasks.key, t);
        if (!expected.has(key)) expected.set(key, new Map());
        expected.get(key)!.set(created.metadata.name, clock.now());
        ctx.logger.info('task created', { task: created.metadata.name, type: (t.spec as { type?: string }).type, node: created.spec?.nodeName });
      }
      for (const ev of diff.events ?? []) await recorder.record(container, ev.type, ev.reason, ev.message);
      let requeueAfter = diff.requeueAfter;
      const st = (diff.status ?? container.status ?? {}) as { reason?: string; nodeName?: string };
      if (st.reason === ContainerReasons.Unschedulable && !st.nodeName) {
        const now = ctx.clock.now();
        const since = unschedulableSince.get(key) ?? now;
        unschedulableSince.set(key, since);
        if (requeueAfter === UNSCHEDULABLE_RETRY_MS) requeueAfter = unschedulableRetryMs(now - since);
      } else {
        unschedulableSince.delete(key);
      }
      return requeueAfter ? { requeueAfter } : {};
    },
  });
}

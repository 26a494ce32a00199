// Public surface of the controller runtime, and the entry point the manager calls.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../core/store.ts';
import type { ResourceRegistry } from '../core/resources.ts';
import type { Logger } from '../core/logging.ts';
import type { Clock } from '../core/clock.ts';
import { createControllerManager } from './controller-manager.ts';
import { storeListerWatcher } from './store-lister-watcher.ts';
import { createEventRecorder } from './event-recorder.ts';
import { createGarbageCollector } from './gc-controller.ts';
import { createClusterController } from './cluster-controller.ts';
import { createContainerController } from './container-controller.ts';
import { createAgentDeploymentController } from './agent-deployment-controller.ts';
import { createAgentSchedulingController } from './agent-scheduling-controller.ts';
import { createNodeLifecycleController } from './node-lifecycle-controller.ts';
import { createTaskController } from './task-controller.ts';
import { createRebalanceController } from './rebalance-controller.ts';
import { mustResolve } from './resolve-kind.ts';
import { createGitOpsController, type ObjectAdmission } from './gitops-controller.ts';
import { createGitSource } from './git-source.ts';

export { createWorkQueue, type WorkQueue, type WorkQueueOptions } from './work-queue.ts';
export { createInformer, isGone, type Informer, type ListerWatcher, type InformerEvent, type ObjectCache } from './informer.ts';
export { createController, requestKey, type Controller, type Request, type Result, type ReconcileContext, type InformerSource, type Watch } from './controller.ts';
export { createControllerManager, type ControllerManager } from './controller-manager.ts';
export { storeListerWatcher } from './store-lister-watcher.ts';
export { createEventRecorder, EventReasons, type EventRecorder } from './event-recorder.ts';
export { createGarbageCollector } from './gc-controller.ts';
export { createClusterController } from './cluster-controller.ts';
export { createGitOpsController, type ObjectAdmission } from './gitops-controller.ts';
export { createGitSource, type GitSource } from './git-source.ts';

export interface StartControllerManagerOptions {
  store: Store;
  registry: ResourceRegistry;
  logger: Logger;
  clock?: Clock;
  /** The GitOps controller (GitRepository sync); absent = not started. */
  gitops?: { dataDir: string; admit: ObjectAdmission; gitTimeoutMs?: number };
}

/** Starts the GC and Cluster controllers over the in-process store; resolves once caches have synced. */
export async function startControllerManager(opts: StartControllerManagerOptions): Promise<{ stop(): Promise<void> }> {
  const manager = createControllerManager({
    listerWatcherFor: (key) => storeListerWatcher(opts.store, key),
    logger: opts.logger,
    clock: opts.clock,
  });
  const recorder = createEventRecorder({
    store: opts.store,
    component: 'cluster-controller',
    logger: opts.logger,
    clock: opts.clock,
    resource: mustResolve(opts.registry, 'Event').key,
  });
  for (const c of createGarbageCollector({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock })) {
    manager.add(c);
  }
  manager.add(createClusterController({ informers: manager, store: opts.store, registry: opts.registry, recorder, logger: opts.logger, clock: opts.clock }));
  const taskRecorder = createEventRecorder({ store: opts.store, component: 'task-dispatcher', logger: opts.logger, clock: opts.clock, resource: mustResolve(opts.registry, 'Event').key });
  manager.add(createTaskController({ informers: manager, store: opts.store, registry: opts.registry, recorder: taskRecorder, logger: opts.logger, clock: opts.clock }));
  manager.add(createNodeLifecycleController({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock }));
  manager.add(createContainerController({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock }));
  manager.add(createAgentDeploymentController({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock }));
  manager.add(createAgentSchedulingController({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock }));
  manager.add(createRebalanceController({ informers: manager, store: opts.store, registry: opts.registry, recorder: createEventRecorder({ store: opts.store, component: 'rebalancer', logger: opts.logger, clock: opts.clock, resource: mustResolve(opts.registry, 'Event').key }), logger: opts.logger, clock: opts.clock }));
  if (opts.gitops) {
    const git = createGitSource({ cacheDir: join(opts.gitops.dataDir, 'gitops', 'cache'), timeoutMs: opts.gitops.gitTimeoutMs });
    const secretsDir = join(opts.gitops.dataDir, 'gitops', 'secrets');
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    manager.add(createGitOpsController({ informers: manager, store: opts.store, registry: opts.registry, logger: opts.logger, clock: opts.clock, git, admit: opts.gitops.admit, secretsDir }));
  }
  await manager.start();
  return { stop: () => manager.stop() };
}

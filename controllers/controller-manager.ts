// Holds one shared informer per resource and the controllers; starts informers, waits for them to
// sync, then starts workers; stops everything so no timer or watch is left behind.
import type { ResourceKey } from '../core/store.ts';
import type { Logger } from '../core/logging.ts';
import { realClock, type Clock } from '../core/clock.ts';
import { createInformer, type Informer, type ListerWatcher } from './informer.ts';
import type { Controller, InformerSource } from './controller.ts';

export interface ControllerManagerOptions {
  /** Makes the ListerWatcher for one resource (in-process: storeListerWatcher(store, key)). */
  listerWatcherFor: (resource: ResourceKey) => ListerWatcher;
  logger: Logger;
  clock?: Clock;
}

export interface ControllerManager extends InformerSource {
  add(controller: Controller): void;
  /** Resolves once every informer has synced and the workers run. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createControllerManager(opts: ControllerManagerOptions): ControllerManager {
  const clock = opts.clock ?? realClock;
  const informers = new Map<ResourceKey, Informer>();
  const controllers: Controller[] = [];
  let started = false;

  return {
    informer(resource) {
      let inf = informers.get(resource);
      if (!inf) {
        if (started) throw new Error(`informer for ${resource} requested after the manager started`);
        inf = createInformer({
          listerWatcher: opts.listerWatcherFor(resource),
          clock,
          logger: opts.logger.child({ informer: resource }),
        });
        informers.set(resource, inf);
      }
      return inf;
    },
    add(controller) {
      controllers.push(controller);
    },
    async start() {
      started = true;
      await Promise.all([...informers.values()].map((i) => i.start()));
      for (const c of controllers) c.start();
      opts.logger.info('controllers started', { controllers: controllers.map((c) => c.name), informers: [...informers.keys()] });
    },
    async stop() {
      await Promise.all(controllers.map((c) => c.stop()));
      for (const inf of informers.values()) inf.stop();
      opts.logger.info('controllers stopped');
    },
  };
}

// Controllers name kinds; the registry (built from crds/) says where they are stored.
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import type { Store } from '../core/store.ts';
import type { Logger } from '../core/logging.ts';
import type { Clock } from '../core/clock.ts';
import type { InformerSource } from './controller.ts';
import type { Informer } from './informer.ts';
import { createEventRecorder, type EventRecorder } from './event-recorder.ts';

export function mustResolve(registry: ResourceRegistry, kind: string): ResourceType {
  const rt = registry.resolve(kind);
  if (!rt) throw new Error(`resource kind ${kind} is not in the registry (is crds/${kind.toLowerCase()}.yaml missing?)`);
  return rt;
}

/**
 * The kinds a controller works with, resolved once, with the shared informer of each:
 * `const { rt, inf } = kindsWithInformers(registry, informers, { nodes: 'Node', agents: 'Agent' })`.
 */
export function kindsWithInformers<K extends string>(
  registry: ResourceRegistry,
  informers: InformerSource,
  kinds: Record<K, string>,
): { rt: Record<K, ResourceType>; inf: Record<K, Informer> } {
  const rt = {} as Record<K, ResourceType>;
  const inf = {} as Record<K, Informer>;
  for (const [name, kind] of Object.entries(kinds) as Array<[K, string]>) {
    rt[name] = mustResolve(registry, kind);
    inf[name] = informers.informer(rt[name].key);
  }
  return { rt, inf };
}

/** The recorder a controller was given, or its own writing Events as `component`. */
export function recorderFor(opts: { recorder?: EventRecorder; store: Store; registry: ResourceRegistry; logger: Logger }, component: string, clock: Clock): EventRecorder {
  return opts.recorder ?? createEventRecorder({ store: opts.store, component, logger: opts.logger, clock, resource: mustResolve(opts.registry, 'Event').key });
}

/** What every controller of the manager is built from; each adds what is its own. */
export interface ManagerControllerOptions {
  informers: InformerSource;
  store: Store;
  registry: ResourceRegistry;
  logger: Logger;
  clock?: Clock;
  /** Default: its own recorder (see recorderFor). */
  recorder?: EventRecorder;
  workers?: number;
}

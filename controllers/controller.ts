// One controller: informer events → keys in a work queue → workers calling a level-based reconcile.
// controller-runtime semantics: the key is all a reconcile gets; one switch decides the key's fate.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../core/types.ts';
import type { ResourceType } from '../core/resources.ts';
import type { ResourceKey } from '../core/store.ts';
import type { Logger } from '../core/logging.ts';
import { TerminalError, isApiError } from '../core/errors.ts';
import { realClock, type Clock } from '../core/clock.ts';
import type { Informer } from './informer.ts';
import { createWorkQueue, type WorkQueue, type WorkQueueOptions } from './work-queue.ts';

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many milliseconds. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  logger: Logger;
  reconcileId: string;
  clock: Clock;
}

export type ReconcileFunc = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

/** Where controllers get shared informers (the controller manager implements it). */
export interface InformerSource {
  informer(resource: ResourceKey): Informer;
}

/** Another kind whose changes should reconcile some of ours (e.g. a Node enqueues its Cluster). */
export interface Watch {
  resource: ResourceKey;
  map: (obj: KubeObject) => Request[];
}

export interface ControllerOptions {
  name: string;
  resource: ResourceType;
  informers: InformerSource;
  reconcile: ReconcileFunc;
  watches?: Watch[];
  /** Enqueue on a primary-object event only when this says so (default: always). */
  filter?: (obj: KubeObject) => boolean;
  workers?: number;
  logger: Logger;
  clock?: Clock;
  queue?: Omit<WorkQueueOptions, 'clock'>;
}

export interface ControllerStats {
  reconciles: number;
  errors: number;
  terminalErrors: number;
}

export interface Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly stats: ControllerStats;
  enqueue(req: Request): void;
  /** Start the workers (the manager calls this once informers have synced). */
  start(): void;
  /** Shut the queue down and wait for in-flight reconciles to finish. */
  stop(): Promise<void>;
}

export const DEFAULT_WORKERS = 1;

export function requestKey(req: Request): string {
  return req.namespace ? `${req.namespace}/${req.name}` : req.name;
}

export function parseRequestKey(key: string): Request {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function createController(opts: ControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const queue = createWorkQueue({ ...opts.queue, clock });
  const log = opts.logger.child({ controller: opts.name });
  const stats: ControllerStats = { reconciles: 0, errors: 0, terminalErrors: 0 };
  let workers: Promise<void>[] = [];

  const enqueue = (req: Request) => queue.add(requestKey(req));
  const enqueueObj = (obj: KubeObject) => {
    if (!opts.filter || opts.filter(obj)) enqueue({ namespace: obj.metadata.namespace, name: obj.metadata.name });
  };

  // Handlers are registered now, before informers start, so the initial list enqueues everything.
  const primary = opts.informers.informer(opts.resource.key);
  primary.on('add', enqueueObj);
  primary.on('update', (_old, obj) => enqueueObj(obj));
  primary.on('delete', enqueueObj);
  for (const w of opts.watches ?? []) {
    const inf = opts.informers.informer(w.resource);
    const mapped = (obj: KubeObject) => w.map(obj).forEach(enqueue);
    inf.on('add', mapped);
    inf.on('update', (old, obj) => {
      // A change can move an object between owners (e.g. rebinding): enqueue both sides.
      mapped(old);
      mapped(obj);
    });
    inf.on('delete', mapped);
  }

  async function processOne(key: string): Promise<void> {
    const reconcileId = randomUUID().slice(0, 8);
    const logger = log.child({ key, reconcileId });
    stats.reconciles++;
    try {
      const res = await opts.reconcile(parseRequestKey(key), { logger, reconcileId, clock });
      if (res && res.requeueAfter !== undefined && res.requeueAfter > 0) {
        queue.forget(key);
        queue.addAfter(key, res.requeueAfter);
      } else {
        queue.forget(key);
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        stats.terminalErrors++;
        logger.error('reconcile failed permanently', { err: err.message, cause: String(err.cause ?? '') });
        queue.forget(key);
      } else {
        stats.errors++;
        // Conflicts are routine under optimistic concurrency; anything else deserves a warning.
        const level = isApiError(err, 409) ? 'debug' : 'warn';
        logger.log(level, 'reconcile failed, retrying', { err: err instanceof Error ? err.message : String(err), retries: queue.numRequeues(key) });
        queue.addRateLimited(key);
      }
    } finally {
      queue.done(key);
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(key);
    }
  }

  return {
    name: opts.name,
    queue,
    stats,
    enqueue,
    start() {
      if (workers.length) return;
      const n = opts.workers ?? DEFAULT_WORKERS;
      workers = Array.from({ length: n }, () => worker());
      log.debug('controller started', { workers: n });
    },
    async stop() {
      queue.shutDown();
      await Promise.all(workers);
      workers = [];
    },
  };
}

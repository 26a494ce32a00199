// Writes Event objects (core/v1 Event shape) for what controllers do. A repeat of the same
// (object uid, reason, message) within 10 minutes bumps count/lastTimestamp instead of adding one.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeObject } from '../core/types.ts';
import { API_VERSION } from '../core/types.ts';
import type { Store, ResourceKey } from '../core/store.ts';
import type { Logger } from '../core/logging.ts';
import { isApiError } from '../core/errors.ts';
import { realClock, type Clock } from '../core/clock.ts';
import { scrubSecrets, secretEnvValues } from '../core/secret-env.ts';
import type { EventType } from '../reconcilers/types.ts';

export const EVENTS_RESOURCE: ResourceKey = 'events.drover.dev';
export const EVENT_SERIES_WINDOW_MS = 10 * 60 * 1000;

/** Reasons recorded by the controller runtime itself (kind-specific ones live with their reconciler). */
export const EventReasons = {
  GarbageCollected: 'GarbageCollected',
  ReconcileFailed: 'ReconcileFailed',
} as const;

export interface EventRecorder {
  /** Never rejects: a failure to record is logged, it must not fail the reconcile. */
  record(involvedObject: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

export interface EventRecorderOptions {
  store: Store;
  /** Reported as source.component and reportingController, e.g. `cluster-controller`. */
  component: string;
  logger: Logger;
  clock?: Clock;
  resource?: ResourceKey;
}

interface Series {
  namespace: string;
  name: string;
  lastMs: number;
}

const MAX_SERIES = 4096;

/** RFC 3339 with second precision, like Kubernetes timestamps. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const clock = opts.clock ?? realClock;
  const resource = opts.resource ?? EVENTS_RESOURCE;
  const host = hostname();
  const series = new Map<string, Series>();
  const inFlight = new Map<string, Promise<void>>(); // one write per series at a time, so counts add up

  function sweep(now: number): void {
    if (series.size < MAX_SERIES) return;
    for (const [k, s] of series) if (now - s.lastMs >= EVENT_SERIES_WINDOW_MS) series.delete(k);
  }

  async function bump(s: Series, ts: string): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const ev = await opts.store.get(resource, s.namespace, s.name);
        await opts.store.update(resource, { ...ev, count: ((ev.count as number | undefined) ?? 1) + 1, lastTimestamp: ts });
        return true;
      } catch (err) {
        if (isApiError(err, 404)) return false; // deleted meanwhile: start a new series
        if (!isApiError(err, 409)) throw err;
      }
    }
    return false;
  }

  async function write(obj: KubeObject, type: EventType, reason: string, message: string, key: string): Promise<void> {
    const now = clock.now();
    const ts = rfc3339(now);
    const prev = series.get(key);
    if (prev && now - prev.lastMs < EVENT_SERIES_WINDOW_MS && (await bump(prev, ts))) {
      prev.lastMs = now;
      return;
    }
    const meta = obj.metadata;
    // Cluster-scoped objects (Clusters) are their own namespace.
    const namespace = meta.namespace ?? meta.name;
    const name = `${meta.name.slice(0, 220)}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    const involvedObject: Record<string, string> = { apiVersion: obj.apiVersion, kind: obj.kind, name: meta.name };
    if (meta.namespace) involvedObject.namespace = meta.namespace;
    if (meta.uid) involvedObject.uid = meta.uid;
    await opts.store.create(resource, {
      apiVersion: API_VERSION,
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      source: { component: opts.component, host },
      reportingController: opts.component,
    });
    sweep(now);
    series.set(key, { namespace, name, lastMs: now });
  }

  return {
    record(obj, type, reason, rawMessage) {
      const meta = obj.metadata;
      // a secret env value of the object never reaches an Event (core/secret-env.ts)
      const message = scrubSecrets(rawMessage, secretEnvValues(obj.spec));
      const key = [meta.uid ?? `${obj.kind}/${meta.namespace ?? ''}/${meta.name}`, reason, message].join('\u0000');
      const run = (inFlight.get(key) ?? Promise.resolve())
        .then(() => write(obj, type, reason, message, key))
        .catch((err: unknown) => {
          opts.logger.warn('could not record event', { reason, object: `${obj.kind}/${meta.name}`, err: err instanceof Error ? err.message : String(err) });
        });
      inFlight.set(key, run);
      void run.finally(() => {
        if (inFlight.get(key) === run) inFlight.delete(key);
      });
      return run;
    },
  };
}
